module github.com/driftline/driftline/infra

go 1.26.8
