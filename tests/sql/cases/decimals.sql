-- Exact decimals over a static table: the columns are DECIMAL, the literals with a point too
-- (1.5 is DECIMAL(2,1), so 0.1 + 0.2 is exactly 0.3). The expected table is Spark 4.3's
-- show() of the same query over the same file, run on this machine.
CREATE TABLE prices (k STRING, a DECIMAL(10,2), b DECIMAL(5,3), n BIGINT) USING csv OPTIONS (path 'data/decimals.csv', header 'true');
SELECT k, a + b AS s, a * b AS p, a / b AS q, n * 1.5 AS m, 0.1 + 0.2 AS z, round(a, 1) AS r,
       CAST(n AS DECIMAL(5, 1)) AS c, a > 1.5 AS big
FROM prices;
