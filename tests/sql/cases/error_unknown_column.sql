-- expect-error: UNRESOLVED_COLUMN 3:8
CREATE STREAM lines USING text OPTIONS (path 'data/words');
SELECT wrd FROM lines;
