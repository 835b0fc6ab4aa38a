EXPLAIN SELECT CAST(ts AS DATE), -d * 2.5e3 / 7 % 3 || 'x' FROM t WHERE ts >= TIMESTAMP '2024-01-01 00:00:00';
-- comment
/* block */ SELECT 1