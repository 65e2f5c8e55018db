-- Ten-second windows of event time under a five-second watermark, in append mode: a window is
-- written once, in the first batch whose watermark (the greatest time of the batches before it,
-- less five seconds) has passed the window's end. Batch 1 runs under the watermark 00:00:07;
-- its click at 00:00:06 is older, but it counts: a row is late only for a window that ended
-- at or before the watermark, and [0, 10) ends at 00:00:10 (Spark's rule). Batch 2 (watermark
-- 00:00:18) writes [0, 10) with a's three clicks; a batch without data (watermark 00:00:25)
-- writes [10, 20); [20, 30) and [30, 40) stay open.
CREATE STREAM clicks (page STRING, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  USING csv OPTIONS (path 'data/clicks', header 'true', maxFilesPerTrigger '1');
CREATE SINK out USING console OPTIONS (outputMode 'append', truncate 'false');
INSERT INTO out
SELECT window(ts, '10 seconds') AS window, page, count(*) AS clicks
FROM clicks
GROUP BY window(ts, '10 seconds'), page;
