-- Spark's word count in SQL, one file per epoch, complete mode.
CREATE STREAM lines USING text OPTIONS (path 'data/words', maxFilesPerTrigger '1');
SELECT word, count(*) AS count
FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t
GROUP BY word;
