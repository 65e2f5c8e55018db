-- expect-error: UNRESOLVED_COLUMN 2:80
CREATE STREAMING TABLE weather (airport STRING, condition STRING, PRIMARY KEY (airprot))
  USING csv OPTIONS (path 'data/weather', header 'true');
SELECT * FROM weather;
