SELECT id, b, si, i, r, d, n, s, bl, dt, ts, tz FROM t WHERE id BETWEEN 2 AND 4 ORDER BY d DESC NULLS FIRST;
SELECT s, count(*), sum(i), avg(d), min(ts), max(n) FROM t GROUP BY s HAVING count(*) > 0 ORDER BY 1;
SELECT * FROM u WHERE k IN (1, 3) OR v LIKE 'o%';
