module github.com/driftline/driftline/tools

go 1.26.8

replace (
	github.com/driftline/driftline/schemas => ../schemas
	github.com/driftline/driftline/infra => ../infra
	github.com/driftline/driftline/services => ../services
)

require (
	github.com/driftline/driftline/infra v0.0.0-00010101000000-000000000000
	github.com/driftline/driftline/schemas v0.0.0-00010101000000-000000000000
	github.com/driftline/driftline/services v0.0.0-00010101000000-000000000000
)
