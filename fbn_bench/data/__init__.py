"""The data path: annotation tables -> decoded uint8 cache -> task streams -> batches."""
