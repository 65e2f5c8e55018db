-- Sessions of clicks per page with a five-second gap, under a five-second watermark, in append
-- mode. Batch 0: a@1 and a@4 make [1, 9) (a click joins a session it reaches, inclusive);
-- b@12 opens [12, 17). Batch 1 (watermark 00:00:07): a@6 stretches a's session to [1, 11);
-- b@15 makes [12, 20); a@23 opens [23, 28). Batch 2 (watermark 00:00:18) writes [1, 11) with
-- its three clicks; b@30 opens [30, 35). The last batch, without data (watermark 00:00:25),
-- writes [12, 20); [23, 28) and [30, 35) stay open.
CREATE STREAM clicks (page STRING, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  USING csv OPTIONS (path 'data/clicks', header 'true', maxFilesPerTrigger '1');
CREATE SINK out USING console OPTIONS (outputMode 'append', truncate 'false');
INSERT INTO out
SELECT page, session_window(ts, '5 seconds') AS session, count(*) AS clicks
FROM clicks
GROUP BY page, session_window(ts, '5 seconds');
