package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

const kubernetesDir = "../../deploy/kubernetes"

// kustomization is the part of kustomize's Kustomization the manifests use;
// decoding it strictly refuses any field not listed here.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// kubeManifests is every object in deploy/kubernetes, each decoded strictly
// into its Kubernetes API type: an unknown or misspelt field, a wrong type
// or a duplicate key fails the decode.
type kubeManifests struct {
	kustomization kustomization
	files         []string // every manifest file but the kustomization
	configMaps    map[string]corev1.ConfigMap
	secrets       map[string]corev1.Secret
	deployments   map[string]appsv1.Deployment
	services      map[string]corev1.Service
	jobs          map[string]batchv1.Job
	hpas          map[string]autoscalingv2.HorizontalPodAutoscaler
	pdbs          map[string]policyv1.PodDisruptionBudget
}

func loadKubeManifests(t *testing.T) kubeManifests {
	t.Helper()
	m := kubeManifests{
		configMaps: map[string]corev1.ConfigMap{}, secrets: map[string]corev1.Secret{},
		deployments: map[string]appsv1.Deployment{}, services: map[string]corev1.Service{},
		jobs: map[string]batchv1.Job{}, hpas: map[string]autoscalingv2.HorizontalPodAutoscaler{},
		pdbs: map[string]policyv1.PodDisruptionBudget{},
	}
	names, err := filepath.Glob(filepath.Join(kubernetesDir, "*.yaml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no manifests in %s: %v", kubernetesDir, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(name)
		if base == "kustomization.yaml" {
			if err := yaml.UnmarshalStrict(b, &m.kustomization); err != nil {
				t.Fatalf("%s: %v", base, err)
			}
			continue
		}
		m.files = append(m.files, base)
		for i, doc := range strings.Split(string(b), "\n---\n") {
			if err := m.add(doc); err != nil {
				t.Errorf("%s, document %d: %v", base, i+1, err)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return m
}

// add decodes one YAML document into the type its apiVersion and kind name.
func (m *kubeManifests) add(doc string) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
		return err
	}
	strict := func(v any) error { return yaml.UnmarshalStrict([]byte(doc), v) }
	switch head.APIVersion + " " + head.Kind {
	case "v1 ConfigMap":
		return decodeInto(strict, m.configMaps, func(o corev1.ConfigMap) string { return o.Name })
	case "v1 Secret":
		return decodeInto(strict, m.secrets, func(o corev1.Secret) string { return o.Name })
	case "v1 Service":
		return decodeInto(strict, m.services, func(o corev1.Service) string { return o.Name })
	case "apps/v1 Deployment":
		return decodeInto(strict, m.deployments, func(o appsv1.Deployment) string { return o.Name })
	case "batch/v1 Job":
		return decodeInto(strict, m.jobs, func(o batchv1.Job) string { return o.Name })
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return decodeInto(strict, m.hpas, func(o autoscalingv2.HorizontalPodAutoscaler) string { return o.Name })
	case "policy/v1 PodDisruptionBudget":
		return decodeInto(strict, m.pdbs, func(o policyv1.PodDisruptionBudget) string { return o.Name })
	}
	return &unknownKindError{head.APIVersion, head.Kind}
}

type unknownKindError struct{ apiVersion, kind string }

func (e *unknownKindError) Error() string {
	return "no schema for apiVersion " + strconv.Quote(e.apiVersion) + " kind " + strconv.Quote(e.kind)
}

func decodeInto[T any](strict func(any) error, into map[string]T, name func(T) string) error {
	var o T
	if err := strict(&o); err != nil {
		return err
	}
	if name(o) == "" {
		return errNoName
	}
	into[name(o)] = o
	return nil
}

var errNoName = errors.New("an object without metadata.name")

// knownSettings are the environment variables leadflow's configuration
// reads, asked of the real flag set rather than copied from it.
func knownSettings(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	getenv := func(name string) string { known[name] = true; return "" }
	fs := flag.NewFlagSet("settings", flag.ContinueOnError)
	finish := configFlags(fs, getenv)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	_, _ = finish() // reads the *_FILE variants
	if len(known) < 10 || !known["LEADFLOW_DATABASE_URL_FILE"] {
		t.Fatalf("the configuration read only %v", slices.Sorted(maps.Keys(known)))
	}
	return known
}

// appRoutes are the GET paths app.go registers as string literals
// (e.GET("/healthz", ...)).
func appRoutes(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "app.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 2 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "GET" {
			return true
		}
		if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			p, _ := strconv.Unquote(lit.Value)
			routes[p] = true
		}
		return true
	})
	return routes
}

// podSpecs are the pod templates of every Deployment and Job, by owner.
func (m kubeManifests) podSpecs() map[string]corev1.PodTemplateSpec {
	pods := map[string]corev1.PodTemplateSpec{}
	for name, d := range m.deployments {
		pods["Deployment "+name] = d.Spec.Template
	}
	for name, j := range m.jobs {
		pods["Job "+name] = j.Spec.Template
	}
	return pods
}

// TestKubernetesManifestsMatchLeadflow decodes every manifest in
// deploy/kubernetes strictly into its Kubernetes API type and checks that
// the objects fit together and fit leadflow: settings leadflow reads, keys
// the ConfigMap and Secret hold, routes that exist, subcommands that run.
func TestKubernetesManifestsMatchLeadflow(t *testing.T) {
	t.Parallel()
	m := loadKubeManifests(t)
	known := knownSettings(t)
	routes := appRoutes(t)

	k := m.kustomization
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml is %s %s", k.APIVersion, k.Kind)
	}
	if got, want := slices.Sorted(slices.Values(k.Resources)), slices.Sorted(slices.Values(m.files)); !slices.Equal(got, want) {
		t.Errorf("kustomization resources %v, want every manifest %v", got, want)
	}
	if len(k.Images) != 1 || k.Images[0].Name == "" || k.Images[0].NewName == "" || k.Images[0].NewTag == "" {
		t.Fatalf("kustomization images %+v: want one image with a newName and newTag", k.Images)
	}
	image := k.Images[0].Name

	serve, ok := m.deployments["leadflow-serve"]
	if !ok {
		t.Fatalf("no leadflow-serve Deployment among %v", slices.Sorted(maps.Keys(m.deployments)))
	}
	work, ok := m.deployments["leadflow-work"]
	if !ok {
		t.Fatal("no leadflow-work Deployment")
	}
	if len(m.jobs) != 1 {
		t.Fatalf("%d Jobs, want the one migration Job", len(m.jobs))
	}
	wantArgs := map[string][]string{
		"Deployment leadflow-serve": {"serve"},
		"Deployment leadflow-work":  {"work"},
	}
	for name := range m.jobs {
		wantArgs["Job "+name] = []string{"migrate", "up"}
	}

	for owner, pod := range m.podSpecs() {
		spec := pod.Spec
		if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: the pod does not require a non-root user", owner)
		}
		if len(spec.Containers) != 1 {
			t.Errorf("%s: %d containers, want 1", owner, len(spec.Containers))
			continue
		}
		c := spec.Containers[0]
		if c.Image != image {
			t.Errorf("%s: image %q, want %q (the kustomization's image)", owner, c.Image, image)
		}
		if len(c.Command) != 0 {
			t.Errorf("%s: command %v overrides the image's entrypoint (leadflow)", owner, c.Command)
		}
		if !slices.Equal(c.Args, wantArgs[owner]) {
			t.Errorf("%s: args %v, want %v", owner, c.Args, wantArgs[owner])
		}
		checkSubcommand(t, owner, c.Args)
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: want a read-only root file system and no privilege escalation", owner)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: want CPU and memory requests and a memory limit, got %v", owner, c.Resources)
		}

		// What the container's environment is, with each *_FILE read
		// from the Secret example as Kubernetes would mount it.
		env := map[string]string{}
		for _, from := range c.EnvFrom {
			if from.ConfigMapRef == nil {
				t.Errorf("%s: envFrom other than a ConfigMap", owner)
				continue
			}
			cm, ok := m.configMaps[from.ConfigMapRef.Name]
			if !ok {
				t.Errorf("%s: envFrom ConfigMap %q is not among the examples", owner, from.ConfigMapRef.Name)
				continue
			}
			maps.Copy(env, cm.Data)
		}
		files := m.mountedSecretFiles(t, owner, spec, c)
		for _, e := range c.Env {
			switch {
			case e.ValueFrom == nil:
				env[e.Name] = e.Value
			case e.ValueFrom.SecretKeyRef != nil:
				ref := e.ValueFrom.SecretKeyRef
				env[e.Name] = m.secretValue(t, owner, ref.Name, ref.Key)
			case e.ValueFrom.ConfigMapKeyRef != nil:
				ref := e.ValueFrom.ConfigMapKeyRef
				v, ok := m.configMaps[ref.Name].Data[ref.Key]
				if !ok {
					t.Errorf("%s: %s reads ConfigMap %s key %q, which the example lacks", owner, e.Name, ref.Name, ref.Key)
				}
				env[e.Name] = v
			default:
				t.Errorf("%s: %s comes from something other than a Secret or ConfigMap key", owner, e.Name)
			}
		}
		for name, v := range env {
			if !known[name] {
				t.Errorf("%s: sets %s, which leadflow does not read", owner, name)
			}
			if strings.HasSuffix(name, "_FILE") {
				local, ok := files[v]
				if !ok {
					t.Errorf("%s: %s=%s is not a file mounted from a Secret", owner, name, v)
				}
				env[name] = local
			}
		}
		// The settings as the subcommand would take them.
		fs := flag.NewFlagSet(owner, flag.ContinueOnError)
		finish := configFlags(fs, func(name string) string { return env[name] })
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		cfg, err := finish()
		if err == nil && wantArgs[owner][0] != "migrate" {
			err = cfg.requireServices()
		}
		if err == nil && cfg.DatabaseURL == "" {
			err = errors.New("no database URL")
		}
		if err != nil {
			t.Errorf("%s: leadflow refuses the manifest's settings: %v", owner, err)
		}
	}

	// serve: probes on real routes and the named port.
	c := serve.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for what, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("serve: no HTTP %s probe", what)
			continue
		}
		if !routes[p.HTTPGet.Path] {
			t.Errorf("serve: %s probe on %s, which app.go does not serve (it serves %v)", what, p.HTTPGet.Path, slices.Sorted(maps.Keys(routes)))
		}
		if _, ok := ports[p.HTTPGet.Port.String()]; !ok {
			t.Errorf("serve: %s probe on port %s, not a container port", what, p.HTTPGet.Port.String())
		}
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("serve: liveness on %s; want /healthz, which does not depend on PostgreSQL", c.LivenessProbe.HTTPGet.Path)
	}
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("serve: readiness on %s; want /readyz, which checks the capture pool", c.ReadinessProbe.HTTPGet.Path)
	}
	addr := serveAddr(t, m, c)
	if _, port, _ := strings.Cut(addr, ":"); port != strconv.Itoa(int(ports["http"])) {
		t.Errorf("serve listens on %s but its http port is %d", addr, ports["http"])
	}
	if serve.Spec.Replicas != nil {
		t.Error("serve sets replicas, which would reset the autoscaler's count on every apply")
	}

	// Selectors: the Service, PDB and Deployment pick serve's pods and no
	// other pods.
	serveLabels := serve.Spec.Template.Labels
	for owner, pod := range m.podSpecs() {
		isServe := owner == "Deployment leadflow-serve"
		svc := m.services["leadflow-serve"]
		if got := selects(svc.Spec.Selector, pod.Labels); got != isServe {
			t.Errorf("the Service selects %s: %v, want %v", owner, got, isServe)
		}
		for name, pdb := range m.pdbs {
			if got := selects(pdb.Spec.Selector.MatchLabels, pod.Labels); got != isServe {
				t.Errorf("PDB %s selects %s: %v, want %v", name, owner, got, isServe)
			}
		}
	}
	for name, d := range m.deployments {
		if !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) || len(d.Spec.Selector.MatchExpressions) > 0 {
			t.Errorf("Deployment %s: its selector does not match its own pods", name)
		}
	}
	if _, ok := m.services["leadflow-serve"]; !ok || len(m.services) != 1 {
		t.Fatalf("services %v, want leadflow-serve alone", slices.Sorted(maps.Keys(m.services)))
	}
	for _, p := range m.services["leadflow-serve"].Spec.Ports {
		if _, ok := ports[p.TargetPort.String()]; !ok {
			t.Errorf("the Service's port %s targets %s, not a serve container port", p.Name, p.TargetPort.String())
		}
	}
	if !selects(m.services["leadflow-serve"].Spec.Selector, serveLabels) {
		t.Error("the Service does not select serve's pods")
	}

	// The autoscaler and disruption budget keep at least one serve pod.
	if len(m.hpas) != 1 || len(m.pdbs) != 1 {
		t.Fatalf("%d autoscalers and %d disruption budgets, want one of each", len(m.hpas), len(m.pdbs))
	}
	for name, h := range m.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != serve.Name {
			t.Errorf("HPA %s scales %s %s %s, want apps/v1 Deployment %s", name, ref.APIVersion, ref.Kind, ref.Name, serve.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HPA %s: want at least 2 replicas and a maximum above the minimum", name)
		}
		for _, pdb := range m.pdbs {
			if pdb.Spec.MinAvailable != nil && h.Spec.MinReplicas != nil && pdb.Spec.MinAvailable.IntValue() >= int(*h.Spec.MinReplicas) {
				t.Errorf("the PDB's minAvailable %s blocks every drain at the HPA's minimum of %d", pdb.Spec.MinAvailable, *h.Spec.MinReplicas)
			}
			if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
				t.Error("the PDB sets neither minAvailable nor maxUnavailable")
			}
		}
	}
	if work.Spec.Template.Spec.Containers[0].Ports != nil {
		t.Error("work opens a port; it serves no HTTP")
	}

	// The Secret is an example: every value a placeholder.
	for name, s := range m.secrets {
		if len(s.Data) > 0 {
			t.Errorf("Secret %s carries data; examples use stringData placeholders", name)
		}
		for key, v := range s.StringData {
			if !strings.Contains(v, "REPLACE_ME") {
				t.Errorf("Secret %s key %s is not a REPLACE_ME placeholder", name, key)
			}
		}
	}
}

// mountedSecretFiles maps each file a container sees from a Secret volume
// to a local copy of the example's value, failing on keys the example
// lacks.
func (m kubeManifests) mountedSecretFiles(t *testing.T, owner string, spec corev1.PodSpec, c corev1.Container) map[string]string {
	t.Helper()
	dir := t.TempDir()
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	files := map[string]string{}
	for _, vm := range c.VolumeMounts {
		v, ok := volumes[vm.Name]
		if !ok {
			t.Errorf("%s: mounts volume %q, which the pod lacks", owner, vm.Name)
			continue
		}
		if v.Secret == nil {
			continue
		}
		if !vm.ReadOnly {
			t.Errorf("%s: Secret volume %s is mounted writable", owner, vm.Name)
		}
		items := v.Secret.Items
		if len(items) == 0 {
			for key := range m.secrets[v.Secret.SecretName].StringData {
				items = append(items, corev1.KeyToPath{Key: key, Path: key})
			}
		}
		for _, it := range items {
			local := filepath.Join(dir, vm.Name+"-"+filepath.Base(it.Path))
			if err := os.WriteFile(local, []byte(m.secretValue(t, owner, v.Secret.SecretName, it.Key)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			files[path.Join(vm.MountPath, it.Path)] = local
		}
	}
	return files
}

func (m kubeManifests) secretValue(t *testing.T, owner, name, key string) string {
	t.Helper()
	s, ok := m.secrets[name]
	if !ok {
		t.Errorf("%s: uses Secret %q, which is not among the examples", owner, name)
		return ""
	}
	v, ok := s.StringData[key]
	if !ok {
		t.Errorf("%s: uses Secret %s key %q, which the example lacks", owner, name, key)
	}
	return v
}

// serveAddr is LEADFLOW_ADDR as the serve container gets it.
func serveAddr(t *testing.T, m kubeManifests, c corev1.Container) string {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == "LEADFLOW_ADDR" {
			return e.Value
		}
	}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef != nil {
			if v, ok := m.configMaps[from.ConfigMapRef.Name].Data["LEADFLOW_ADDR"]; ok {
				return v
			}
		}
	}
	t.Error("serve does not set LEADFLOW_ADDR; the default listens on loopback only")
	return ""
}

// selects reports whether a label selector picks a pod with these labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkSubcommand runs leadflow with the container's arguments and -h: a
// real subcommand prints its own flag usage, anything else the command list.
func checkSubcommand(t *testing.T, owner string, args []string) {
	t.Helper()
	if len(args) == 0 {
		return
	}
	var stderr bytes.Buffer
	err := run(context.Background(), append(slices.Clone(args), "-h"), func(string) string { return "" }, io.Discard, &stderr)
	if want := "Usage of " + strings.Join(args, " ") + ":"; err != errUsage || !strings.Contains(stderr.String(), want) {
		t.Errorf("%s: `leadflow %s -h` did not print %q (error %v):\n%s", owner, strings.Join(args, " "), want, err, stderr.String())
	}
}
