// Command arena is the "Human or Robot?" game server. See README.md.
package main

import (
	"os"

	"github.com/arena-hq/arena/app"
)

func main() { os.Exit(app.Execute()) }
