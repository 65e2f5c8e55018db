-- LIMIT in append mode is Spark's streaming limit: the first rows written over the whole run,
-- then nothing. Batch 0 reads "b a Z é" and "a b"; its words, in the sorted order every batch
-- is written in (by the bytes of their UTF-8), are Z a a b b é, and the limit keeps Z a a.
-- Batch 1 ("é é c Z") writes nothing: the three rows are spent, also after a restart.
CREATE STREAM lines USING text OPTIONS (path 'data/words_mixed', maxFilesPerTrigger '1');
CREATE SINK out USING console OPTIONS (outputMode 'append');
INSERT INTO out
SELECT explode(split(value, ' ')) AS word FROM lines LIMIT 3;
