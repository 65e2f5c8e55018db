-- expect-error: DATATYPE_MISMATCH 3:1
CREATE STREAM lines USING text OPTIONS (path 'data/words');
SELECT value + 1 FROM lines;
