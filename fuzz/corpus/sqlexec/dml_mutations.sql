UPDATE t SET s = s || '!', n = n + 1.25, dt = '2024-02-02', b = NOT b WHERE id <= 2;
UPDATE t SET d = d * 2, r = r / 2, ts = '2025-01-01 00:00:00' WHERE length(s) = 1 OR s IS NULL;
UPDATE t SET id = id + 10 WHERE n > 0; DELETE FROM t WHERE si = -1; DELETE FROM t WHERE n < 0;
INSERT INTO t (id, s) VALUES (1, 'one'), (20, 'twenty') ON CONFLICT (id) DO UPDATE SET s = excluded.s || t.s, i = coalesce(t.i, 0) WHERE t.id > 0;
INSERT OR REPLACE INTO t (id, s) VALUES (1, 'r'); INSERT OR IGNORE INTO t (id) VALUES (1), (30);
REPLACE INTO t (id, bl) VALUES (31, 'b'); INSERT INTO t (id) VALUES (31) ON CONFLICT DO NOTHING;
DELETE FROM u WHERE k = 1; DELETE FROM u WHERE length(v) = 3; UPDATE u SET v = upper(v);
TRUNCATE u; TRUNCATE TABLE t; SELECT count(*) FROM t AS OF VERSION 2;
