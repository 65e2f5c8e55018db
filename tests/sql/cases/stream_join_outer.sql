-- Ad impressions LEFT OUTER JOIN clicks within a minute, both under 10-second watermarks.
-- The watermark of a batch is the least of the two sides' (greatest time of the batches before
-- it, less 10 s): batch 1 runs under 00:00:00, batch 2 under 00:00:50, and the batch without
-- data that follows under min(00:02:30, 00:01:30) - 10 s = 00:01:20.
-- Batch 0: the click at 00:00:30 joins impression 1 (BETWEEN is inclusive).
-- Batch 1: the click at 00:00:50 joins impression 1 too; the click of ad 2 at 00:01:11 is a
-- second past impression 2's minute and joins nothing.
-- Batch 2: the click of ad 1 at 00:00:00 is late (at or below the previous batch's watermark,
-- 00:00:00) and dropped, though impression 1 is still held; the click at 00:01:30 joins
-- impression 3.
-- Batch 3: impression 2 never matched, and 00:00:10 + 60 s < 00:01:20: it is written with nulls.
-- Impressions 3 and 4 are still inside their minute when the input ends: never written alone.
CREATE STREAM impressions (ad BIGINT, imp_ts TIMESTAMP, WATERMARK FOR imp_ts AS imp_ts - INTERVAL '10' SECOND)
  USING csv OPTIONS (path 'data/impressions', header 'true', maxFilesPerTrigger '1');
CREATE STREAM clicks (click_ad BIGINT, click_ts TIMESTAMP, WATERMARK FOR click_ts AS click_ts - INTERVAL '10 seconds')
  USING csv OPTIONS (path 'data/ad_clicks', header 'true', maxFilesPerTrigger '1');
CREATE SINK out USING console OPTIONS (outputMode 'append', truncate 'false');
INSERT INTO out
SELECT i.ad, i.imp_ts, c.click_ad, c.click_ts
FROM impressions i LEFT OUTER JOIN clicks c
  ON i.ad = c.click_ad AND c.click_ts BETWEEN i.imp_ts AND i.imp_ts + INTERVAL 1 MINUTE;
