package v4l2

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ErrControl: a control setting is malformed, unknown to the device, or
// refused by it.
var ErrControl = errors.New("v4l2: bad control")

// ControlSetting is one name=value pair, e.g. from
// CAMAGENT_V4L2_CONTROLS="brightness=128,auto_exposure=1".
type ControlSetting struct {
	// Name as v4l2-ctl prints it: lower case, words joined by underscores.
	Name  string
	Value int64
}

// Limits on ParseControls' input.
const (
	MaxControlSettings = 64
	maxControlName     = 64
	maxControlsText    = 4096
)

// ParseControls parses "name=value,name=value". Names are v4l2-ctl's
// (letters, digits and underscores; upper case is folded). Values are
// integers, or true/false for 1/0. Empty items are ignored; a name given
// twice is an error.
func ParseControls(s string) ([]ControlSetting, error) {
	if len(s) > maxControlsText {
		return nil, fmt.Errorf("%w: settings are %d bytes long, want at most %d", ErrControl, len(s), maxControlsText)
	}
	var out []ControlSetting
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if len(out) == MaxControlSettings {
			return nil, fmt.Errorf("%w: more than %d settings", ErrControl, MaxControlSettings)
		}
		name, val, ok := strings.Cut(item, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if !ok || name == "" || val == "" {
			return nil, fmt.Errorf("%w: %q: want name=value", ErrControl, item)
		}
		if len(name) > maxControlName || strings.IndexFunc(name, func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_'
		}) >= 0 {
			return nil, fmt.Errorf("%w: %q: a name has only letters, digits and underscores, at most %d", ErrControl, name, maxControlName)
		}
		v, err := parseControlValue(val)
		if err != nil {
			return nil, fmt.Errorf("%w: %s=%q: want a whole number, true or false", ErrControl, name, val)
		}
		if slices.ContainsFunc(out, func(c ControlSetting) bool { return c.Name == name }) {
			return nil, fmt.Errorf("%w: %s is given twice", ErrControl, name)
		}
		out = append(out, ControlSetting{Name: name, Value: v})
	}
	return out, nil
}

func parseControlValue(s string) (int64, error) {
	switch strings.ToLower(s) {
	case "true":
		return 1, nil
	case "false":
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// ControlName turns a driver's control name into v4l2-ctl's: lower case,
// each run of other characters between words becomes one underscore
// ("White Balance, Automatic" → "white_balance_automatic").
func ControlName(name string) string {
	var b strings.Builder
	gap := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
			fallthrough
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if gap {
				b.WriteByte('_')
			}
			gap = false
			b.WriteByte(c)
		default:
			gap = b.Len() > 0
		}
	}
	return b.String()
}

// controlSetter is the part of Device applyControls needs.
type controlSetter interface {
	Controls() ([]ControlInfo, error)
	SetControl(id uint32, value int32) error
}

// applyControls sets each control in order (order matters: an auto mode
// must be switched off before its manual value is taken).
func applyControls(dev controlSetter, settings []ControlSetting, device string) error {
	if len(settings) == 0 {
		return nil
	}
	infos, err := dev.Controls()
	if err != nil {
		return err
	}
	for _, s := range settings {
		i := slices.IndexFunc(infos, func(c ControlInfo) bool { return ControlName(c.Name) == s.Name })
		if i < 0 {
			return fmt.Errorf("%w: %s has no control %q; it has %s", ErrControl, device, s.Name, controlNames(infos))
		}
		c := infos[i]
		if err := checkControl(c, s.Value); err != nil {
			return fmt.Errorf("%w: %s=%d on %s: %s", ErrControl, s.Name, s.Value, device, err)
		}
		if err := dev.SetControl(c.ID, int32(s.Value)); err != nil {
			return fmt.Errorf("%w: %s=%d on %s: VIDIOC_S_CTRL: %w", ErrControl, s.Name, s.Value, device, err)
		}
	}
	return nil
}

func checkControl(c ControlInfo, v int64) error {
	if c.Flags&ctrlFlagReadOnly != 0 {
		return errors.New("the control is read-only")
	}
	switch c.Type {
	case ctrlTypeInteger, ctrlTypeBoolean, ctrlTypeMenu, ctrlTypeIntegerMenu, ctrlTypeButton:
		if c.Type != ctrlTypeButton && (v < c.Min || v > c.Max) {
			return fmt.Errorf("want %d to %d", c.Min, c.Max)
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			return errors.New("want a 32-bit value")
		}
	case ctrlTypeBitmask:
		if v < 0 || v > math.MaxUint32 || uint64(v)&^uint64(c.Max) != 0 {
			return fmt.Errorf("want a bitmask within 0x%x", c.Max)
		}
	default:
		return fmt.Errorf("controls of type %d cannot be set here", c.Type)
	}
	return nil
}

// controlNames lists the names of the settable controls, comma-separated.
func controlNames(infos []ControlInfo) string {
	var names []string
	for _, c := range infos {
		if c.Flags&ctrlFlagReadOnly == 0 {
			names = append(names, ControlName(c.Name))
		}
	}
	if len(names) == 0 {
		return "no settable controls"
	}
	return strings.Join(names, ", ")
}
