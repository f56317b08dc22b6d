package deploy

// These tests check the structure of the deployment files (docker-compose,
// Kubernetes, Grafana, the Dockerfile): this machine runs no containers, so
// they are the only check those files get. cmd/drivetrain's
// deployfiles_test.go checks the parts that need the binary's own types
// (the ConfigMap's drivetrain.yaml, the metric names the dashboard queries).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Restart string `yaml:"restart"`
}

// mount returns the source of the volume of s mounted at target.
func (s composeService) mount(target string) (string, bool) {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target {
			return parts[0], true
		}
	}
	return "", false
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile("compose/docker-compose.yml")
	require.NoError(t, err)
	var c composeFile
	require.NoError(t, yaml.Unmarshal(data, &c))
	return c
}

var nodes = []string{"drivetrain-1", "drivetrain-2", "drivetrain-3"}

// imageTag returns the tag of an image reference ("" when it has none).
func imageTag(image string) string {
	name := image[strings.LastIndex(image, "/")+1:]
	if i := strings.Index(name, ":"); i >= 0 {
		return name[i+1:]
	}
	return ""
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	want := append([]string{"postgres", "kafka", "connect", "connector", "clickhouse", "kafka-ui", "prometheus", "grafana"}, nodes...)
	for _, name := range want {
		assert.Contains(t, c.Services, name)
	}
	for name, s := range c.Services {
		require.NotEmpty(t, s.Image, "%s: image", name)
		tag := imageTag(s.Image)
		assert.NotEmpty(t, tag, "%s: image %s pinned to a tag", name, s.Image)
		assert.NotEqual(t, "latest", tag, "%s: image %s pinned to a version, not latest", name, s.Image)
		for dep, d := range s.DependsOn {
			require.Contains(t, c.Services, dep, "%s depends on %s", name, dep)
			if d.Condition == "service_healthy" {
				assert.NotNil(t, c.Services[dep].Healthcheck, "%s waits for %s to be healthy, which needs a healthcheck", name, dep)
			}
			if d.Condition == "service_completed_successfully" {
				assert.Equal(t, "no", c.Services[dep].Restart, "%s waits for one-shot %s", name, dep)
			}
		}
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			if strings.HasPrefix(src, ".") {
				_, err := os.Stat(filepath.Join("compose", src))
				assert.NoError(t, err, "%s mounts %s", name, src)
			} else {
				assert.Contains(t, c.Volumes, src, "%s: named volume %s declared", name, src)
			}
		}
	}
}

func TestComposeInfrastructure(t *testing.T) {
	c := loadCompose(t)
	tests := []struct {
		service string
		check   func(t *testing.T, s composeService)
	}{
		{"postgres", func(t *testing.T, s composeService) {
			assert.Contains(t, s.Command, "wal_level=logical")
			src, ok := s.mount("/docker-entrypoint-initdb.d/01-schema.sql")
			assert.True(t, ok, "schema mounted into /docker-entrypoint-initdb.d")
			assert.Equal(t, "../postgres/schema.sql", src)
			assert.NotNil(t, s.Healthcheck)
		}},
		{"kafka", func(t *testing.T, s composeService) {
			assert.Contains(t, s.Environment["KAFKA_PROCESS_ROLES"], "controller", "KRaft: the broker is its own controller")
			assert.NotEmpty(t, s.Environment["KAFKA_CONTROLLER_QUORUM_VOTERS"])
			assert.NotEmpty(t, s.Environment["CLUSTER_ID"])
			assert.Contains(t, s.Environment["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT://kafka:9092")
			for k := range s.Environment {
				assert.NotContains(t, strings.ToLower(k), "zookeeper")
			}
			assert.NotNil(t, s.Healthcheck)
		}},
		{"connect", func(t *testing.T, s composeService) {
			assert.Regexp(t, `^(quay\.io/)?debezium/connect:3\.`, s.Image)
			assert.Contains(t, s.Ports, "127.0.0.1:28083:8083", "REST port published")
			assert.Equal(t, "kafka:9092", s.Environment["BOOTSTRAP_SERVERS"])
			assert.NotNil(t, s.Healthcheck)
		}},
		{"connector", func(t *testing.T, s composeService) {
			cmd := strings.Join(s.Command, " ")
			assert.NotContains(t, cmd, "database.password", "the worker resolves the password; it is not sent")
			assert.Contains(t, cmd, "connector register --connect http://connect:8083")
			assert.Contains(t, cmd, "--set database.hostname=postgres")
			assert.Contains(t, cmd, "--set database.port=5432")
			assert.Equal(t, "service_healthy", s.DependsOn["connect"].Condition)
			assert.Equal(t, "service_healthy", s.DependsOn["postgres"].Condition)
		}},
		{"clickhouse", func(t *testing.T, s composeService) {
			assert.Regexp(t, `^clickhouse/clickhouse-server:\d+\.\d+`, s.Image)
			assert.NotNil(t, s.Healthcheck)
		}},
		{"kafka-ui", func(t *testing.T, s composeService) {
			assert.Equal(t, "kafka:9092", s.Environment["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"])
		}},
		{"prometheus", func(t *testing.T, s composeService) {
			src, ok := s.mount("/etc/prometheus/prometheus.yml")
			assert.True(t, ok)
			assert.Equal(t, "../grafana/prometheus.yml", src)
		}},
		{"grafana", func(t *testing.T, s composeService) {
			for target, src := range map[string]string{
				"/etc/grafana/provisioning/datasources": "../grafana/provisioning/datasources",
				"/etc/grafana/provisioning/dashboards":  "../grafana/provisioning/dashboards",
				"/var/lib/grafana/dashboards":           "../grafana/dashboards",
			} {
				got, ok := s.mount(target)
				assert.True(t, ok, "mounted at %s", target)
				assert.Equal(t, src, got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			s, ok := c.Services[tt.service]
			require.True(t, ok)
			tt.check(t, s)
		})
	}
}

// TestConnectorPasswordFromProvider: connector.json refers to the database
// password through a config provider, and every Connect worker of these
// files (the local stack's, the compose one) enables that provider and
// holds the variable it reads.
func TestConnectorPasswordFromProvider(t *testing.T) {
	data, err := os.ReadFile("debezium/connector.json")
	require.NoError(t, err)
	var cf struct {
		Config map[string]string `json:"config"`
	}
	require.NoError(t, json.Unmarshal(data, &cf))
	m := regexp.MustCompile(`^\$\{env:([A-Z_][A-Z0-9_]*)\}$`).FindStringSubmatch(cf.Config["database.password"])
	require.NotNil(t, m, "database.password is an ${env:VAR} reference, not a password: %q", cf.Config["database.password"])
	variable := m[1]

	c := loadCompose(t)
	env := c.Services["connect"].Environment
	assert.Equal(t, "env", env["CONNECT_CONFIG_PROVIDERS"])
	assert.Equal(t, "org.apache.kafka.common.config.provider.EnvVarConfigProvider", env["CONNECT_CONFIG_PROVIDERS_ENV_CLASS"])
	assert.Equal(t, "^"+variable+"$$", env["CONNECT_CONFIG_PROVIDERS_ENV_PARAM_ALLOWLIST_PATTERN"], "only that variable ($$ is compose's $)")
	assert.Equal(t, c.Services["postgres"].Environment["POSTGRES_PASSWORD"], env[variable], "the worker has the database's password")

	script, err := os.ReadFile("local/stack.sh")
	require.NoError(t, err)
	for _, line := range []string{
		"config.providers=env",
		"config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
		"config.providers.env.param.allowlist.pattern=^" + variable + "\\$",
	} {
		assert.Contains(t, string(script), "\n"+line+"\n", "stack.sh writes %s into the worker's properties", line)
	}
	assert.Contains(t, string(script), "\t"+variable+"=$PG_PASSWORD launch connect ", "stack.sh starts the worker with the variable")
}

func TestComposeNodes(t *testing.T) {
	c := loadCompose(t)
	ids := map[string]bool{}
	states := map[string]bool{}
	for _, name := range nodes {
		t.Run(name, func(t *testing.T) {
			s := c.Services[name]
			require.NotNil(t, s.Build, "built from the Dockerfile")
			_, err := os.Stat(filepath.Join("compose", s.Build.Context, s.Build.Dockerfile))
			assert.NoError(t, err, "build context and Dockerfile exist")
			assert.Equal(t, []string{"run"}, s.Command)
			env := s.Environment
			assert.Equal(t, name, env["DRIVETRAIN_PROCESSOR_NODE_ID"])
			ids[env["DRIVETRAIN_PROCESSOR_NODE_ID"]] = true
			assert.Equal(t, "kafka:9092", env["DRIVETRAIN_KAFKA_BROKERS"])
			assert.Equal(t, "clickhouse://clickhouse:9000", env["DRIVETRAIN_CLICKHOUSE_URL"])
			assert.Equal(t, c.Services["clickhouse"].Environment["CLICKHOUSE_USER"], env["DRIVETRAIN_CLICKHOUSE_USER"])
			assert.Equal(t, c.Services["clickhouse"].Environment["CLICKHOUSE_PASSWORD"], env["DRIVETRAIN_CLICKHOUSE_PASSWORD"])
			assert.Equal(t, "0.0.0.0:18090", env["DRIVETRAIN_HTTP_ADDR"])
			src, ok := s.mount(env["DRIVETRAIN_PROCESSOR_STATE_DIR"])
			assert.True(t, ok, "state directory on a volume")
			assert.Contains(t, c.Volumes, src)
			states[src] = true
			for _, dep := range []string{"kafka", "clickhouse"} {
				assert.Equal(t, "service_healthy", s.DependsOn[dep].Condition, dep)
			}
			assert.Equal(t, "service_completed_successfully", s.DependsOn["connector"].Condition)
			shutdown, err := time.ParseDuration(env["DRIVETRAIN_SHUTDOWN_TIMEOUT"])
			require.NoError(t, err)
			assert.Greater(t, 90*time.Second, shutdown, "stop_grace_period (90s) exceeds shutdown_timeout")
		})
	}
	assert.Len(t, ids, len(nodes), "distinct node ids")
	assert.Len(t, states, len(nodes), "a state volume per node")
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	// Join continuation lines, drop comments.
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	var from, run, user, expose, entrypoint, cmd []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			from = append(from, rest)
		case "RUN":
			run = append(run, rest)
		case "USER":
			user = append(user, rest)
		case "EXPOSE":
			expose = append(expose, rest)
		case "ENTRYPOINT":
			entrypoint = append(entrypoint, rest)
		case "CMD":
			cmd = append(cmd, rest)
		}
	}
	require.GreaterOrEqual(t, len(from), 2, "multi-stage")
	assert.True(t, strings.HasPrefix(from[0], "golang:1.26 "), "builder on golang:1.26, got %q", from[0])
	assert.Regexp(t, `^(gcr\.io/distroless/static|alpine:)`, from[len(from)-1], "a static or alpine final image")
	assert.True(t, slices.ContainsFunc(run, func(r string) bool {
		return strings.Contains(r, "CGO_ENABLED=0") && strings.Contains(r, "./cmd/drivetrain")
	}), "a static build of ./cmd/drivetrain")
	require.Len(t, user, 1)
	assert.NotContains(t, []string{"root", "0", "0:0"}, user[0], "runs as a non-root user")
	assert.Equal(t, []string{"18090"}, expose)
	require.Len(t, entrypoint, 1)
	var ep []string
	require.NoError(t, json.Unmarshal([]byte(entrypoint[0]), &ep))
	assert.Equal(t, "drivetrain", filepath.Base(ep[0]))
	assert.Equal(t, []string{`["run"]`}, cmd)
}

func TestPrometheusScrapesNodes(t *testing.T) {
	data, err := os.ReadFile("grafana/prometheus.yml")
	require.NoError(t, err)
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	var targets []string
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "drivetrain" {
			continue
		}
		assert.Equal(t, "/metrics", sc.MetricsPath)
		for _, s := range sc.StaticConfigs {
			targets = append(targets, s.Targets...)
		}
	}
	c := loadCompose(t)
	for _, n := range nodes {
		port := c.Services[n].Environment["DRIVETRAIN_HTTP_ADDR"][len("0.0.0.0:"):]
		assert.Contains(t, targets, n+":"+port)
	}
}

// k8sObject is the subset of Kubernetes objects the tests read.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		// StatefulSet
		ServiceName string `yaml:"serviceName"`
		Replicas    int    `yaml:"replicas"`
		Selector    struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
			Spec struct {
				Resources struct {
					Requests map[string]string `yaml:"requests"`
				} `yaml:"resources"`
			} `yaml:"spec"`
		} `yaml:"volumeClaimTemplates"`
		// PodDisruptionBudget
		MaxUnavailable int `yaml:"maxUnavailable"`
		// Service (its selector, a plain map, is not read)
		ClusterIP string `yaml:"clusterIP"`
		Ports     []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
		// NetworkPolicy
		PodSelector *labelSelector `yaml:"podSelector"`
		PolicyTypes []string       `yaml:"policyTypes"`
		Ingress     []struct {
			From []struct {
				NamespaceSelector *labelSelector `yaml:"namespaceSelector"`
				PodSelector       *labelSelector `yaml:"podSelector"`
				IPBlock           *struct {
					CIDR string `yaml:"cidr"`
				} `yaml:"ipBlock"`
			} `yaml:"from"`
			Ports []struct {
				Protocol string `yaml:"protocol"`
				Port     any    `yaml:"port"`
			} `yaml:"ports"`
		} `yaml:"ingress"`
	} `yaml:"spec"`
}

type labelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []any             `yaml:"matchExpressions"`
}

type podSpec struct {
	TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot bool `yaml:"runAsNonRoot"`
		RunAsUser    int  `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		Env []struct {
			Name      string `yaml:"name"`
			ValueFrom struct {
				FieldRef *struct {
					FieldPath string `yaml:"fieldPath"`
				} `yaml:"fieldRef"`
				ConfigMapKeyRef *struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"configMapKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	} `yaml:"containers"`
	Volumes []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name  string `yaml:"name"`
			Items []struct {
				Key  string `yaml:"key"`
				Path string `yaml:"path"`
			} `yaml:"items"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// loadK8s reads every object of every YAML file in deploy/k8s, by kind
// and name.
func loadK8s(t *testing.T) map[string]k8sObject {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	require.NoError(t, err)
	objs := map[string]k8sObject{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(false)
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, f)
			require.NotEmpty(t, o.Kind, f)
			objs[o.Kind+"/"+o.Metadata.Name] = o
		}
	}
	return objs
}

// k8sConfig is the part of the ConfigMap's drivetrain.yaml these tests
// read (cmd/drivetrain checks the whole file against the binary's config).
type k8sConfig struct {
	HTTPAddr        string `yaml:"http_addr"`
	PprofAddr       string `yaml:"pprof_addr"`
	ShutdownTimeout string `yaml:"shutdown_timeout"`
	Processor       struct {
		StateDir string `yaml:"state_dir"`
	} `yaml:"processor"`
}

func TestKubernetes(t *testing.T) {
	objs := loadK8s(t)
	cm, ok := objs["ConfigMap/drivetrain"]
	require.True(t, ok, "ConfigMap drivetrain")
	var cfg k8sConfig
	require.NoError(t, yaml.Unmarshal([]byte(cm.Data["drivetrain.yaml"]), &cfg))
	assert.Equal(t, "0.0.0.0:18090", cfg.HTTPAddr, "listens on the pod IP, not loopback")
	if cfg.PprofAddr != "" {
		host, _, err := net.SplitHostPort(cfg.PprofAddr)
		require.NoError(t, err, "pprof_addr")
		ip := net.ParseIP(host)
		assert.True(t, host == "" || host == "localhost" || (ip != nil && ip.IsLoopback()),
			"pprof_addr %s: profiles stay on the pod's loopback (kubectl port-forward), never on the pod IP", cfg.PprofAddr)
	}

	sts, ok := objs["StatefulSet/drivetrain"]
	require.True(t, ok, "StatefulSet drivetrain")
	assert.Equal(t, 3, sts.Spec.Replicas)
	podLabels := sts.Spec.Template.Metadata.Labels
	for k, v := range sts.Spec.Selector.MatchLabels {
		assert.Equal(t, v, podLabels[k], "selector matches the pod labels")
	}
	pod := sts.Spec.Template.Spec
	assert.True(t, pod.SecurityContext.RunAsNonRoot)
	assert.NotZero(t, pod.SecurityContext.RunAsUser)
	shutdown, err := time.ParseDuration(cfg.ShutdownTimeout)
	require.NoError(t, err)
	assert.Greater(t, time.Duration(pod.TerminationGracePeriodSeconds)*time.Second, shutdown,
		"terminationGracePeriodSeconds exceeds shutdown_timeout")

	require.Len(t, pod.Containers, 1)
	ctr := pod.Containers[0]
	tag := imageTag(ctr.Image)
	assert.NotEmpty(t, tag)
	assert.NotEqual(t, "latest", tag)
	require.Len(t, ctr.Ports, 1)
	assert.Equal(t, "http", ctr.Ports[0].Name)
	_, port, _ := strings.Cut(cfg.HTTPAddr, ":")
	assert.Equal(t, port, strconv.Itoa(ctr.Ports[0].ContainerPort), "container port is http_addr's")
	for name, p := range map[string]*probe{"/readyz": ctr.ReadinessProbe, "/healthz": ctr.LivenessProbe} {
		require.NotNil(t, p, name)
		require.NotNil(t, p.HTTPGet, name)
		assert.Equal(t, name, p.HTTPGet.Path)
		assert.Equal(t, "http", p.HTTPGet.Port)
	}
	for _, r := range []string{"cpu", "memory"} {
		assert.NotEmpty(t, ctr.Resources.Requests[r], "requests.%s", r)
		assert.NotEmpty(t, ctr.Resources.Limits[r], "limits.%s", r)
	}
	var nodeIDFromPod bool
	for _, e := range ctr.Env {
		if e.Name == "DRIVETRAIN_PROCESSOR_NODE_ID" && e.ValueFrom.FieldRef != nil {
			nodeIDFromPod = e.ValueFrom.FieldRef.FieldPath == "metadata.name"
		}
		if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
			assert.Contains(t, objs, "ConfigMap/"+ref.Name)
			assert.Contains(t, objs["ConfigMap/"+ref.Name].Data, ref.Key, e.Name)
		}
	}
	assert.True(t, nodeIDFromPod, "node id from the pod name through the downward API")

	mounts := map[string]string{}
	for _, m := range ctr.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	require.Len(t, sts.Spec.VolumeClaimTemplates, 1)
	claim := sts.Spec.VolumeClaimTemplates[0]
	assert.NotEmpty(t, claim.Spec.Resources.Requests["storage"])
	assert.Equal(t, cfg.Processor.StateDir, mounts[claim.Metadata.Name], "the state directory is on the claimed volume")

	// --config points at the ConfigMap's drivetrain.yaml.
	i := slices.Index(ctr.Args, "--config")
	require.GreaterOrEqual(t, i, 0, "args pass --config")
	require.Less(t, i+1, len(ctr.Args))
	assert.Equal(t, "run", ctr.Args[0])
	var configPath string
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil || v.ConfigMap.Name != "drivetrain" {
			continue
		}
		for _, it := range v.ConfigMap.Items {
			if it.Key == "drivetrain.yaml" {
				configPath = mounts[v.Name] + "/" + it.Path
			}
		}
	}
	assert.Equal(t, configPath, ctr.Args[i+1])

	headless, ok := objs["Service/"+sts.Spec.ServiceName]
	require.True(t, ok, "the StatefulSet's serviceName is a Service")
	assert.Equal(t, "None", headless.Spec.ClusterIP, "headless")

	metrics, ok := objs["Service/drivetrain-metrics"]
	require.True(t, ok)
	assert.Equal(t, "true", metrics.Metadata.Annotations["prometheus.io/scrape"])
	assert.Equal(t, port, metrics.Metadata.Annotations["prometheus.io/port"])
	assert.Equal(t, "/metrics", metrics.Metadata.Annotations["prometheus.io/path"])
	for _, svc := range []k8sObject{headless, metrics} {
		require.Len(t, svc.Spec.Ports, 1)
		assert.Equal(t, "http", svc.Spec.Ports[0].TargetPort)
	}

	pdb, ok := objs["PodDisruptionBudget/drivetrain"]
	require.True(t, ok)
	assert.Equal(t, "policy/v1", pdb.APIVersion)
	assert.Equal(t, 1, pdb.Spec.MaxUnavailable)
	assert.Equal(t, sts.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels)
}

// TestKubernetesNetworkPolicy: the nodes' HTTP port is reachable from the
// monitoring namespace only.
func TestKubernetesNetworkPolicy(t *testing.T) {
	objs := loadK8s(t)
	np, ok := objs["NetworkPolicy/drivetrain"]
	require.True(t, ok, "NetworkPolicy drivetrain")
	assert.Equal(t, "networking.k8s.io/v1", np.APIVersion)

	sts := objs["StatefulSet/drivetrain"]
	podLabels := sts.Spec.Template.Metadata.Labels
	require.NotNil(t, np.Spec.PodSelector, "podSelector")
	require.NotEmpty(t, np.Spec.PodSelector.MatchLabels, "an empty podSelector would select every pod of the namespace")
	assert.Empty(t, np.Spec.PodSelector.MatchExpressions)
	for k, v := range np.Spec.PodSelector.MatchLabels {
		assert.Equal(t, v, podLabels[k], "the policy selects the drivetrain pods (label %s)", k)
	}
	assert.Equal(t, sts.Spec.Selector.MatchLabels, np.Spec.PodSelector.MatchLabels, "the same pods as the StatefulSet")
	assert.Contains(t, np.Spec.PolicyTypes, "Ingress")

	require.Len(t, np.Spec.Ingress, 1, "one ingress rule")
	rule := np.Spec.Ingress[0]
	require.Len(t, rule.From, 1, "one peer")
	peer := rule.From[0]
	require.NotNil(t, peer.NamespaceSelector, "a namespace selector")
	assert.Nil(t, peer.PodSelector, "any pod of the monitoring namespace; no pod selector that would widen to this namespace's pods")
	assert.Nil(t, peer.IPBlock)
	assert.Equal(t, map[string]string{"kubernetes.io/metadata.name": "monitoring"}, peer.NamespaceSelector.MatchLabels)
	assert.Empty(t, peer.NamespaceSelector.MatchExpressions)

	require.Len(t, sts.Spec.Template.Spec.Containers, 1)
	ctr := sts.Spec.Template.Spec.Containers[0]
	require.Len(t, ctr.Ports, 1)
	require.Len(t, rule.Ports, 1, "the metrics port only")
	p := rule.Ports[0]
	assert.Equal(t, "TCP", p.Protocol)
	assert.True(t, fmt.Sprint(p.Port) == strconv.Itoa(ctr.Ports[0].ContainerPort) || p.Port == ctr.Ports[0].Name,
		"port %v is the container's http port %d", p.Port, ctr.Ports[0].ContainerPort)
}

func TestKustomizationListsEveryFile(t *testing.T) {
	data, err := os.ReadFile("k8s/kustomization.yaml")
	require.NoError(t, err)
	var k struct {
		Resources []string `yaml:"resources"`
	}
	require.NoError(t, yaml.Unmarshal(data, &k))
	files, err := filepath.Glob("k8s/*.yaml")
	require.NoError(t, err)
	var want []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			want = append(want, b)
		}
	}
	assert.ElementsMatch(t, want, k.Resources)
}

type dashboard struct {
	UID    string `json:"uid"`
	Title  string `json:"title"`
	Panels []struct {
		ID         int    `json:"id"`
		Title      string `json:"title"`
		Type       string `json:"type"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
	} `json:"panels"`
}

func TestGrafana(t *testing.T) {
	data, err := os.ReadFile("grafana/dashboards/drivetrain.json")
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(data, &d))
	assert.NotEmpty(t, d.UID)

	ds, err := os.ReadFile("grafana/provisioning/datasources/prometheus.yml")
	require.NoError(t, err)
	var dsCfg struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(ds, &dsCfg))
	require.Len(t, dsCfg.Datasources, 1)
	assert.Equal(t, "prometheus", dsCfg.Datasources[0].Type)
	assert.Equal(t, "http://prometheus:9090", dsCfg.Datasources[0].URL, "the compose service")

	ids := map[int]bool{}
	for _, p := range d.Panels {
		assert.False(t, ids[p.ID], "panel id %d unique", p.ID)
		ids[p.ID] = true
		assert.Equal(t, dsCfg.Datasources[0].UID, p.Datasource.UID, "panel %q uses the provisioned datasource", p.Title)
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			assert.NotEmpty(t, tg.Expr, p.Title)
		}
	}
	// The panels the issue asks for, by the metric each must query.
	for _, want := range []struct{ what, metric string }{
		{"throughput (events)", "drivetrain_events_consumed_total"},
		{"throughput (rows)", "drivetrain_rows_written_total"},
		{"consumer lag", "drivetrain_consumer_lag"},
		{"freshness", "drivetrain_freshness_seconds_bucket"},
		{"errors and DLQ", "drivetrain_dead_letters_total"},
		{"ClickHouse insert latency", "drivetrain_insert_duration_seconds_bucket"},
	} {
		found := false
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				found = found || regexp.MustCompile(`\b`+want.metric+`\b`).MatchString(tg.Expr)
			}
		}
		assert.True(t, found, "a panel for %s queries %s", want.what, want.metric)
	}

	prov, err := os.ReadFile("grafana/provisioning/dashboards/drivetrain.yml")
	require.NoError(t, err)
	var provCfg struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	require.NoError(t, yaml.Unmarshal(prov, &provCfg))
	require.Len(t, provCfg.Providers, 1)
	src, ok := loadCompose(t).Services["grafana"].mount(provCfg.Providers[0].Options.Path)
	assert.True(t, ok, "the provider's path is where compose mounts the dashboards")
	assert.Equal(t, "../grafana/dashboards", src)
}
