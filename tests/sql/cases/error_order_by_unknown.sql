-- expect-error: UNRESOLVED_COLUMN 5:10
CREATE STREAM lines USING text OPTIONS (path 'data/words');
SELECT value AS word, count(*) AS n FROM lines
GROUP BY value
ORDER BY total DESC;
