-- expect-error: INVALID_PLAN 3:1
CREATE STREAM lines USING text OPTIONS (path 'data/words');
SELECT value FROM lines
UNION ALL
SELECT value, value AS again FROM lines;
