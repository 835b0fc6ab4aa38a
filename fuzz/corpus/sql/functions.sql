SELECT CASE g WHEN 1 THEN 'a' WHEN 2 THEN 'b' ELSE NULL END, CASE WHEN s ILIKE 'x%' THEN 1 END, count(DISTINCT x), extract(year FROM ts), substring(s FROM 2 FOR 3), current_date, now() FROM t WHERE s NOT ILIKE '%y' GROUP BY 1 ORDER BY 2;
SELECT date_trunc('month', ts) AS m, strftime(ts, '%Y') FROM t GROUP BY m;
