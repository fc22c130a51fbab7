"""Letters to applicants: the notices policy, its delivery channels and the print queue."""
