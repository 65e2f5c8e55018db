-- expect-error: INVALID_PLAN 6:28
CREATE STREAM flights (flight STRING, airport STRING, delay BIGINT)
  USING csv OPTIONS (path 'data/flights', header 'true');
CREATE STREAMING TABLE weather (airport STRING, condition STRING, PRIMARY KEY (airport))
  USING csv OPTIONS (path 'data/weather', header 'true');
SELECT * FROM weather JOIN flights USING (airport);
