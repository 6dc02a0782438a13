# Writes datasets/diamonds.csv: 5 000 of the 53 940 diamonds in ggplot2's `diamonds` data set, in a
# seeded random order (the original is sorted by price), for kmfit's regression examples.
#   apt-get install r-cran-ggplot2 && Rscript datasets/diamonds.R
# Ordered factors become their level numbers (cut 1 = Fair … 5 = Ideal; color 1 = D … 7 = J;
# clarity 1 = I1 … 8 = IF); price (US dollars) is the last column, the label. The summary printed
# at the end is what test/data/diamonds.test.ts checks the loader against.
library(ggplot2)
set.seed(20240601, kind = "Mersenne-Twister", normal.kind = "Inversion", sample.kind = "Rejection")
rows <- sample(nrow(diamonds), 5000)
d <- as.data.frame(diamonds[rows, ])
for (column in c("cut", "color", "clarity")) d[[column]] <- as.integer(d[[column]])
d <- d[, c("carat", "cut", "color", "clarity", "depth", "table", "x", "y", "z", "price")]
out <- file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "diamonds.csv")
write.csv(d, out, row.names = FALSE, quote = FALSE)
cat(sprintf("ggplot2 %s: %d rows; first price %d; mean price %.4f; mean carat %.6f; sum of clarity %d\n",
            packageVersion("ggplot2"), nrow(d), d$price[1], mean(d$price), mean(d$carat), sum(d$clarity)))
