-- sum, avg and max of DECIMAL columns per key: sum widens to DECIMAL(p + 10, s), avg to
-- DECIMAL(p + 4, s + 4), as Spark's. The expected table is Spark 4.3's show() of the same
-- query over the same file, run on this machine.
CREATE TABLE prices (k STRING, a DECIMAL(10,2), b DECIMAL(5,3), n BIGINT) USING csv OPTIONS (path 'data/decimals.csv', header 'true');
SELECT k, sum(a) AS total, avg(a) AS mean, max(b) AS top FROM prices GROUP BY k;
