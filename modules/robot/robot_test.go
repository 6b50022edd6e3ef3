package robot

import (
	"testing"
	"time"

	"github.com/arena-hq/arena/config"
)

func TestHumanTimeKeepsThePersonalitysPaceWhenItFits(t *testing.T) {
	p := config.Personality{Delay: config.Delay{Min: 2 * time.Second, Max: 4 * time.Second}, TypingCPS: 10}
	think, typing := humanTime(p, rngFor("c1"), 50, time.Minute, 500*time.Millisecond)
	if typing != 5*time.Second {
		t.Fatalf("50 characters at 10/s typed in %s", typing)
	}
	// The model's 0.5 s counts towards the 2..4 s thinking time.
	if think < 1500*time.Millisecond || think >= 3500*time.Millisecond {
		t.Fatalf("thinking %s outside 1.5..3.5 s", think)
	}
	again, _ := humanTime(p, rngFor("c1"), 50, time.Minute, 500*time.Millisecond)
	if again != think {
		t.Fatal("the same command drew a different delay")
	}
}

func TestHumanTimeSqueezesIntoTheWindow(t *testing.T) {
	p := config.Personality{Delay: config.Delay{Min: 10 * time.Second, Max: 10 * time.Second}, TypingCPS: 5}
	think, typing := humanTime(p, rngFor("c2"), 50, 4*time.Second, 0) // wants 10 s + 10 s
	if total := think + typing; total > 4*time.Second || total < 3900*time.Millisecond {
		t.Fatalf("think %s + type %s does not fill the 4 s left", think, typing)
	}
	if think != typing {
		t.Fatalf("thinking and typing not scaled together: %s vs %s", think, typing)
	}
	if think, typing := humanTime(p, rngFor("c3"), 50, -time.Second, 0); think != 0 || typing != 0 {
		t.Fatalf("no time left still waits %s + %s", think, typing)
	}
}
