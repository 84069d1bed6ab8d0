package main

import (
	"flag"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/patwatch/patwatch/internal/pgstore"
	"github.com/patwatch/patwatch/spec"
)

// The Kubernetes examples are checked by parsing them and checking the
// fields patwatch relies on, and by running their arguments through
// patwatch's own flag parsing and their spec through its loader. A schema
// validator such as kubeconform is not used: it downloads the Kubernetes
// JSON schemas from the internet, which the machines these tests run on
// cannot reach.

const k8sDir = "../../examples/kubernetes"

// k8sObject is the part of a manifest the checks read.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Resources  []string          `yaml:"resources"`
	Spec       struct {
		// CronJob
		Schedule          string `yaml:"schedule"`
		ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
		JobTemplate       struct {
			Spec struct {
				Template podTemplate `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"jobTemplate"`
		// Deployment
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template podTemplate `yaml:"template"`
	} `yaml:"spec"`
}

type podTemplate struct {
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		RestartPolicy string `yaml:"restartPolicy"`
		Containers    []struct {
			Name  string   `yaml:"name"`
			Image string   `yaml:"image"`
			Args  []string `yaml:"args"`
			Env   []struct {
				Name      string `yaml:"name"`
				Value     string `yaml:"value"`
				ValueFrom *struct {
					SecretKeyRef *struct {
						Name string `yaml:"name"`
						Key  string `yaml:"key"`
					} `yaml:"secretKeyRef"`
				} `yaml:"valueFrom"`
			} `yaml:"env"`
			EnvFrom []struct {
				SecretRef *struct {
					Name string `yaml:"name"`
				} `yaml:"secretRef"`
			} `yaml:"envFrom"`
			VolumeMounts []struct {
				Name      string `yaml:"name"`
				MountPath string `yaml:"mountPath"`
				SubPath   string `yaml:"subPath"`
				ReadOnly  bool   `yaml:"readOnly"`
			} `yaml:"volumeMounts"`
		} `yaml:"containers"`
		Volumes []struct {
			Name      string `yaml:"name"`
			ConfigMap *struct {
				Name string `yaml:"name"`
			} `yaml:"configMap"`
			PersistentVolumeClaim *struct {
				ClaimName string `yaml:"claimName"`
			} `yaml:"persistentVolumeClaim"`
			EmptyDir *struct{} `yaml:"emptyDir"`
		} `yaml:"volumes"`
	} `yaml:"spec"`
}

func readManifest(t *testing.T, name string) *k8sObject {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(k8sDir, name))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	var o k8sObject
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := dec.Decode(new(k8sObject)); err != io.EOF {
		t.Fatalf("%s: want one object per file", name)
	}
	return &o
}

func TestKubernetesExamples(t *testing.T) {
	cm := readManifest(t, "configmap.yaml")
	secret := readManifest(t, "secret.yaml")
	pvc := readManifest(t, "pvc.yaml")
	drawingsPVC := readManifest(t, "drawings-pvc.yaml")
	cron := readManifest(t, "cronjob.yaml")
	deploy := readManifest(t, "deployment.yaml")
	kust := readManifest(t, "kustomization.yaml")

	if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || secret.APIVersion != "v1" || secret.Kind != "Secret" || pvc.Kind != "PersistentVolumeClaim" ||
		drawingsPVC.Kind != "PersistentVolumeClaim" {
		t.Errorf("kinds: %s %s, %s %s, %s, %s", cm.APIVersion, cm.Kind, secret.APIVersion, secret.Kind, pvc.Kind, drawingsPVC.Kind)
	}
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(kust.Resources, b) {
			t.Errorf("kustomization.yaml does not list %s", b)
		}
	}

	// The spec in the ConfigMap is valid.
	dir := t.TempDir()
	for name, text := range cm.Data {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(text), 0o644))
		if _, err := spec.Load(p); err != nil {
			t.Errorf("configmap.yaml: %s: %v", name, err)
		}
	}

	// The state URL in the Secret is one patwatch opens, without a password
	// in it (it comes from PGPASSWORD).
	for _, key := range []string{"PATWATCH_STATE", "PATSNAP_API_KEY", "PGPASSWORD"} {
		if secret.StringData[key] == "" {
			t.Errorf("secret.yaml has no %s", key)
		}
	}
	if s, err := pgstore.Open(secret.StringData["PATWATCH_STATE"], pgstore.Options{}); err != nil {
		t.Errorf("secret.yaml: PATWATCH_STATE: %v", err)
	} else if s.String() != secret.StringData["PATWATCH_STATE"] {
		t.Errorf("secret.yaml: PATWATCH_STATE holds a password: %s", secret.StringData["PATWATCH_STATE"])
	}

	if cron.APIVersion != "batch/v1" || cron.Kind != "CronJob" {
		t.Errorf("cronjob.yaml: %s %s, want batch/v1 CronJob", cron.APIVersion, cron.Kind)
	}
	if len(strings.Fields(cron.Spec.Schedule)) != 5 {
		t.Errorf("cronjob.yaml: schedule %q is not five cron fields", cron.Spec.Schedule)
	}
	if cron.Spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("cronjob.yaml: concurrencyPolicy %q, want Forbid", cron.Spec.ConcurrencyPolicy)
	}
	cronPod := cron.Spec.JobTemplate.Spec.Template
	if p := cronPod.Spec.RestartPolicy; p != "Never" && p != "OnFailure" {
		t.Errorf("cronjob.yaml: restartPolicy %q", p)
	}
	checkPod(t, "cronjob.yaml", &cronPod, "apply", cm, secret, [2]*k8sObject{pvc, drawingsPVC})

	if deploy.APIVersion != "apps/v1" || deploy.Kind != "Deployment" {
		t.Errorf("deployment.yaml: %s %s, want apps/v1 Deployment", deploy.APIVersion, deploy.Kind)
	}
	// One watch per state: two replicas are one watch and one standby.
	if deploy.Spec.Replicas == nil || *deploy.Spec.Replicas != 2 {
		t.Errorf("deployment.yaml: want two replicas, one active and one standby")
	}
	if cs := deploy.Spec.Template.Spec.Containers; len(cs) != 1 || !slices.Contains(cs[0].Args, "--standby") {
		t.Errorf("deployment.yaml: the replicas do not run watch --standby: a second watch would exit at once")
	}
	if !pgstore.IsURL(secret.StringData["PATWATCH_STATE"]) {
		t.Errorf("deployment.yaml: its replicas on two nodes share the state: PATWATCH_STATE must be a postgres:// URL")
	}
	for k, v := range deploy.Spec.Selector.MatchLabels {
		if deploy.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("deployment.yaml: the selector's %s=%s is not a label of the pod template", k, v)
		}
	}
	checkPod(t, "deployment.yaml", &deploy.Spec.Template, "watch", cm, secret, [2]*k8sObject{pvc, drawingsPVC})
}

// checkPod checks a pod that runs patwatch cmd: its arguments parse as
// patwatch's, its spec comes from the ConfigMap mounted as a directory,
// its reports and its drawings go to the volumes of claims (reports,
// drawings), and its credentials and state URL come from the Secret.
func checkPod(t *testing.T, file string, pod *podTemplate, cmd string, cm, secret *k8sObject, claims [2]*k8sObject) {
	pvc, drawingsPVC := claims[0], claims[1]
	t.Helper()
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%s: want one container", file)
	}
	c := pod.Spec.Containers[0]
	if c.Image == "" {
		t.Errorf("%s: no image", file)
	}
	if len(c.Args) == 0 || c.Args[0] != cmd {
		t.Fatalf("%s: args %v, want patwatch %s", file, c.Args, cmd)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := addReconcileFlags(fs, cmd)
	if err := fs.Parse(c.Args[1:]); err != nil || fs.NArg() > 0 {
		t.Fatalf("%s: args %v do not parse as patwatch %s's: %v", file, c.Args, cmd, err)
	}

	drawingsDir := f.drawingsDir
	for _, e := range c.Env {
		if e.Name == "PATWATCH_DRAWINGS_DIR" && drawingsDir == "" {
			drawingsDir = e.Value
		}
	}
	mounts := map[string]string{} // volume name → mount path
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
		if m.ReadOnly && m.MountPath == drawingsDir {
			t.Errorf("%s: the drawings directory %s is mounted read-only", file, drawingsDir)
		}
		if m.SubPath != "" {
			t.Errorf("%s: volume %s is mounted with subPath, whose files Kubernetes never updates", file, m.Name)
		}
	}
	var specVol, reportsVol, drawingsVol bool
	for _, v := range pod.Spec.Volumes {
		mp, mounted := mounts[v.Name]
		switch {
		case v.ConfigMap != nil:
			if v.ConfigMap.Name != cm.Metadata.Name {
				t.Errorf("%s: volume %s names ConfigMap %s, not %s", file, v.Name, v.ConfigMap.Name, cm.Metadata.Name)
			}
			if mounted && path.Dir(f.spec) == mp && cm.Data[path.Base(f.spec)] != "" {
				specVol = true
			}
		case v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == drawingsPVC.Metadata.Name:
			drawingsVol = drawingsVol || (mounted && mp == drawingsDir)
		case v.PersistentVolumeClaim != nil:
			if v.PersistentVolumeClaim.ClaimName != pvc.Metadata.Name {
				t.Errorf("%s: volume %s claims %s, not %s", file, v.Name, v.PersistentVolumeClaim.ClaimName, pvc.Metadata.Name)
			}
			if mounted && mp == f.reportsDir {
				reportsVol = true
			}
		}
	}
	if !specVol {
		t.Errorf("%s: -f %s is not a file of the mounted ConfigMap %s", file, f.spec, cm.Metadata.Name)
	}
	if !drawingsVol {
		t.Errorf("%s: the drawings directory %q (--drawings-dir, PATWATCH_DRAWINGS_DIR) is not the writable claim %s: the ConfigMap beside the spec is read-only",
			file, drawingsDir, drawingsPVC.Metadata.Name)
	}
	if !reportsVol {
		t.Errorf("%s: --reports-dir %q is not the mounted claim %s", file, f.reportsDir, pvc.Metadata.Name)
	}
	if path.Base(f.reportsDir) != "reports" {
		t.Errorf("%s: --reports-dir %s: name it reports, so recorded files read reports/NAME on every runner", file, f.reportsDir)
	}

	// Every variable patwatch needs comes from the Secret, one way or the other.
	env := map[string]bool{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != secret.Metadata.Name || secret.StringData[ref.Key] == "" {
				t.Errorf("%s: %s comes from %s/%s, which secret.yaml does not hold", file, e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = true
		} else if e.Value != "" {
			env[e.Name] = true
		}
	}
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil && ef.SecretRef.Name == secret.Metadata.Name {
			for k := range secret.StringData {
				env[k] = true
			}
		}
	}
	for _, want := range []string{"PATWATCH_STATE", "PATSNAP_API_KEY", "PGPASSWORD", "PATWATCH_CACHE_DIR"} {
		if !env[want] {
			t.Errorf("%s: the container has no %s", file, want)
		}
	}
}
