-- expect-error: UNSUPPORTED_OUTPUT_MODE 4:13
CREATE STREAM lines USING text OPTIONS (path 'data/words');
CREATE SINK out USING console OPTIONS (outputMode 'append');
INSERT INTO out SELECT value FROM lines ORDER BY value;
