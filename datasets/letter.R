# Writes datasets/letter.csv: the 20 000 rows of UCI Letter Recognition as the R package mlbench
# ships them (Frey & Slate 1991), in their original order, for kmfit's tabular benchmarks.
#   apt-get install r-cran-mlbench && Rscript datasets/letter.R
# The 16 integer features as they are; the label last, the letter's index 0 (A) … 25 (Z).
# `npm run datasets -- tables` turns it into the standardized .npy tables (datasets/tables.ts).
library(mlbench)
data(LetterRecognition)
d <- LetterRecognition[, c(2:17, 1)]
d$lettr <- as.integer(d$lettr) - 1L
out <- file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "letter.csv")
write.csv(d, out, row.names = FALSE, quote = FALSE)
cat(sprintf("mlbench %s: %d rows; first label %d; sum of x.box %d\n",
            packageVersion("mlbench"), nrow(d), d$lettr[1], sum(d$x.box)))
