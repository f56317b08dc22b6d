package bench

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Machine describes the machine of a run.
type Machine struct {
	Hostname string `json:"hostname"`
	OS       string `json:"os"`
	Kernel   string `json:"kernel"`
	CPUModel string `json:"cpu_model"`
	Cores    int    `json:"cores"`
	// MemoryBytes is MemTotal of /proc/meminfo.
	MemoryBytes int64 `json:"memory_bytes"`
	// LoadBefore and LoadAfter are the 1, 5 and 15 minute load averages
	// at the start and the end of the run: figures taken at a load above
	// the core count were measured on a busy machine.
	LoadBefore [3]float64 `json:"load_before"`
	LoadAfter  [3]float64 `json:"load_after"`
	// Versions of the software involved, by name (go, drivetrain,
	// clickhouse, kafka, python, java, …); what could not be asked is
	// missing.
	Versions map[string]string `json:"versions"`
}

func readMachine() Machine {
	m := Machine{
		OS:       runtime.GOOS + "/" + runtime.GOARCH,
		Cores:    runtime.NumCPU(),
		Versions: map[string]string{"go": runtime.Version()},
	}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		n, _ := strconv.ParseInt(strings.Fields(kb)[0], 10, 64)
		m.MemoryBytes = n << 10
	}
	m.LoadBefore = loadAverage()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, st := range bi.Settings {
			if st.Key == "vcs.revision" {
				m.Versions["drivetrain"] = st.Value
			}
		}
	}
	if v := commandVersion("python3", "--version"); v != "" {
		m.Versions["python"] = strings.TrimPrefix(v, "Python ")
	}
	if v := commandVersion("java", "-version"); v != "" {
		m.Versions["java"] = v
	}
	return m
}

// procField returns the value of the first "name: value" line of a /proc
// file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadAverage() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	for i, f := range strings.Fields(string(b))[:3] {
		l[i], _ = strconv.ParseFloat(f, 64)
	}
	return l
}

// commandVersion returns the first line a version command prints, or "".
func commandVersion(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
