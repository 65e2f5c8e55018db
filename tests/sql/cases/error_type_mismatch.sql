-- expect-error: DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES 3:1
CREATE STREAM lines USING text OPTIONS (path 'data/words');
SELECT value + 1 FROM lines;
