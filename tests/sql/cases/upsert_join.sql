-- A stream joined with a streaming table (the latest weather per airport): when JFK's storm
-- clears in the second batch, its delayed flights move from storm to clear. Within one file,
-- the row read last wins (OSL: fog). CDG has no weather (LEFT join: NULL). Complete mode.
CREATE STREAM flights (flight STRING, airport STRING, delay BIGINT)
  USING csv OPTIONS (path 'data/flights', header 'true', maxFilesPerTrigger '1');
CREATE STREAMING TABLE weather (airport STRING, condition STRING, PRIMARY KEY (airport))
  USING csv OPTIONS (path 'data/weather', header 'true', maxFilesPerTrigger '1');
SELECT condition, count(*) AS delayed
FROM flights LEFT JOIN weather USING (airport)
WHERE delay >= 30
GROUP BY condition;
