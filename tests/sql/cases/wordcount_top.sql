-- The word count's top three in complete mode: ORDER BY the count, largest first, LIMIT 3.
-- Spark breaks ties by the byte order of the words' UTF-8 (uppercase before lowercase, before
-- other scripts), and the limit may cut a run of tied words.
-- Batch 0 reads "b a Z é" and "a b": a 2, b 2, Z 1, é 1; the top three are a, b, then Z,
-- which comes before é. Batch 1 reads "é é c Z": é 3, then the tie a 2, b 2, Z 2 in byte
-- order, Z first, cut after a.
CREATE STREAM lines USING text OPTIONS (path 'data/words_mixed', maxFilesPerTrigger '1');
SELECT word, count(*) AS count
FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t
GROUP BY word
ORDER BY count DESC
LIMIT 3;
