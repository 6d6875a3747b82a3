// Command retrain-trigger is Driftline's retrain-trigger service; see DESIGN.md and
// package pipeline for what it does. Configuration: -config FILE, DRIFTLINE_*
// environment variables and flags (-help lists them).
package main

import (
	"os"

	"github.com/driftline/driftline/services/pipeline"
	"github.com/driftline/driftline/services/service"
)

func main() { os.Exit(service.Main("retrain-trigger", pipeline.RunTrigger)) }
