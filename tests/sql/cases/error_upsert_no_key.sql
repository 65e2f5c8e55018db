-- expect-error: INVALID_PLAN 2:1
CREATE STREAMING TABLE weather (airport STRING, condition STRING)
  USING csv OPTIONS (path 'data/weather', header 'true');
