module workerpool/bench

go 1.19
