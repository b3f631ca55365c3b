package v4l2

import (
	"errors"
	"strings"
	"testing"
)

// One table feeds the parser test and the fuzz seeds.
var controlCases = []struct {
	in   string
	want []ControlSetting
	err  string
}{
	{in: "", want: nil},
	{in: "brightness=128,exposure_auto=1", want: []ControlSetting{{"brightness", 128}, {"exposure_auto", 1}}},
	{in: " Brightness = -5 , , white_balance_automatic=false,", want: []ControlSetting{{"brightness", -5}, {"white_balance_automatic", 0}}},
	{in: "power_line_frequency=true", want: []ControlSetting{{"power_line_frequency", 1}}},
	{in: "brightness", err: "want name=value"},
	{in: "=3", err: "want name=value"},
	{in: "brightness=", err: "want name=value"},
	{in: "bright ness=3", err: "letters, digits and underscores"},
	{in: "brightness=high", err: "want a whole number"},
	{in: "brightness=99999999999999999999", err: "want a whole number"},
	{in: "brightness=1,brightness=2", err: "given twice"},
	{in: strings.Repeat("a", 65) + "=1", err: "at most 64"},
}

func TestParseControls(t *testing.T) {
	for _, c := range controlCases {
		got, err := ParseControls(c.in)
		if c.err != "" {
			if !errors.Is(err, ErrControl) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseControls(%q) error %v, want …%s…", c.in, err, c.err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("ParseControls(%q) = %v, %v; want %v", c.in, got, err, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("ParseControls(%q) = %v; want %v", c.in, got, c.want)
			}
		}
	}
	many := strings.Repeat("a=1,", 65)
	if _, err := ParseControls(many); err == nil {
		t.Error("65 settings accepted")
	}
}

func FuzzParseControls(f *testing.F) {
	for _, c := range controlCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseControls(s)
		if err != nil {
			if !errors.Is(err, ErrControl) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if len(got) > MaxControlSettings {
			t.Fatalf("%d settings", len(got))
		}
		seen := map[string]bool{}
		for _, c := range got {
			if c.Name == "" || len(c.Name) > maxControlName || strings.Trim(c.Name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
				t.Fatalf("name %q", c.Name)
			}
			if seen[c.Name] {
				t.Fatalf("duplicate %q", c.Name)
			}
			seen[c.Name] = true
		}
	})
}

func TestControlName(t *testing.T) {
	for in, want := range map[string]string{
		"Brightness":               "brightness",
		"White Balance, Automatic": "white_balance_automatic",
		"Auto Exposure":            "auto_exposure",
		"Exposure Time, Absolute":  "exposure_time_absolute",
		"Power Line Frequency":     "power_line_frequency",
		"  Gain (dB)  ":            "gain_db",
		"Test Pattern 2":           "test_pattern_2",
	} {
		if got := ControlName(in); got != want {
			t.Errorf("ControlName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestApplyControls(t *testing.T) {
	cases := []struct {
		in  string
		err string
	}{
		{in: "brightness=200,auto_exposure=1,white_balance_automatic=0"},
		{in: "sharpness=3", err: `/dev/video9 has no control "sharpness"; it has brightness, contrast, auto_exposure, white_balance_automatic`},
		{in: "brightness=256", err: "brightness=256 on /dev/video9: want 0 to 255"},
		{in: "hue=3", err: "read-only"},
	}
	for _, c := range cases {
		d := &FakeDevice{ControlList: testControls()}
		settings, err := ParseControls(c.in)
		if err != nil {
			t.Fatal(err)
		}
		err = applyControls(d, settings, "/dev/video9")
		if c.err == "" {
			if err != nil {
				t.Errorf("%s: %v", c.in, err)
			}
			if got := d.SetControls(); len(got) != 3 || got[0].Name != "Brightness" || got[0].Value != 200 || got[1].Name != "Auto Exposure" {
				t.Errorf("%s: set %v", c.in, got)
			}
			continue
		}
		if !errors.Is(err, ErrControl) || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want …%s…", c.in, err, c.err)
		}
	}
}
