-- expect-error: UNSUPPORTED_OUTPUT_MODE 7:13
CREATE STREAM flights (flight STRING, airport STRING, delay BIGINT)
  USING csv OPTIONS (path 'data/flights', header 'true');
CREATE STREAMING TABLE weather (airport STRING, condition STRING, PRIMARY KEY (airport))
  USING csv OPTIONS (path 'data/weather', header 'true');
CREATE SINK alerts USING console OPTIONS (outputMode 'append');
INSERT INTO alerts SELECT flight, condition FROM flights JOIN weather USING (airport);
