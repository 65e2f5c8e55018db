-- A windowed count over an event time computed in CREATE STREAM (Flink's form), with the
-- watermark declared on it, written as Spark users write the query: window.start, append mode.
-- ts is in seconds: tx/1 holds 100-103 (watermark after it 102), tx/2 104-106 (watermark 105).
-- Five-second windows: [100, 105) gets 100-104 (five rows, 50 + 300 + 120 + 7 + 300 = 777) and
-- is written by the batch without data that runs under 105; [105, 110) never closes.
CREATE STREAM tx (user_id BIGINT, amount BIGINT, ts BIGINT,
                  event_time AS CAST(ts AS TIMESTAMP),
                  WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND)
  USING csv OPTIONS (path 'data/tx', header 'true', maxFilesPerTrigger '1');
CREATE SINK out USING console OPTIONS (outputMode 'append');
INSERT INTO out
SELECT window.start AS start, count(*) AS n, sum(amount) AS total
FROM tx
GROUP BY window(event_time, '5 seconds');
