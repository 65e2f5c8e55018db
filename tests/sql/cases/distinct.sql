-- SELECT DISTINCT over a stream is Spark's distinct(): each distinct row once, in the batch
-- that first reads it. Batch 0 reads a, a, b: a and b. Batch 1 reads a, b, a: nothing new.
-- Batch 2 reads b@30, whose half-minute flag is new: (b, true).
CREATE STREAM clicks (page STRING, ts TIMESTAMP)
  USING csv OPTIONS (path 'data/clicks', header 'true', maxFilesPerTrigger '1');
SELECT DISTINCT page, CAST(ts AS STRING) >= '2026-01-01 00:00:30' AS late_half FROM clicks;
