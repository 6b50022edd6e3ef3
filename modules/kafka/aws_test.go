package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/arena-hq/arena/config"
)

// isolateAWS leaves the default credential chain only what the test gives it.
func isolateAWS(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // never reach for 169.254.169.254
}

// firstMessage runs the MSK IAM mechanism's first step, as franz-go does on
// every new connection, and returns the signed request it would send.
func firstMessage(t *testing.T, mech sasl.Mechanism) (map[string]string, error) {
	t.Helper()
	_, msg, err := mech.Authenticate(context.Background(), "b-1.arena.abc123.c2.kafka.eu-west-1.amazonaws.com:9098")
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(msg, &m); err != nil {
		t.Fatalf("first message %q: %v", msg, err)
	}
	return m, nil
}

// TestMSKIAMUsesECSContainerCredentials points the SDK's ECS
// container-credentials variable at a local fake of the endpoint that ECS
// (and EKS Pod Identity) serves, and checks that the MSK IAM handshake is
// signed with the keys it hands out, the authorization token sent.
func TestMSKIAMUsesECSContainerCredentials(t *testing.T) {
	isolateAWS(t)
	var calls atomic.Int32
	var badAuth atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "task-token" {
			badAuth.Store(true)
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId":     "ASIAFAKETASKROLE",
			"SecretAccessKey": "fake-secret",
			"Token":           "fake-session-token",
			"Expiration":      time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	}))
	defer srv.Close()
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/v2/credentials/task")
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "task-token")

	mech, err := saslMechanism(config.SASL{Mechanism: config.SASLAWSMSKIAM})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // two connections
		m, err := firstMessage(t, mech)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m["x-amz-credential"], "ASIAFAKETASKROLE/") || !strings.Contains(m["x-amz-credential"], "/eu-west-1/kafka-cluster/") {
			t.Errorf("x-amz-credential = %q, want the task role's key and the broker's region", m["x-amz-credential"])
		}
		if m["x-amz-security-token"] != "fake-session-token" || m["action"] != "kafka-cluster:Connect" {
			t.Errorf("message = %v", m)
		}
	}
	if badAuth.Load() {
		t.Error("the ECS authorization token was not sent")
	}
	// The SDK caches the credentials until shortly before they expire.
	if n := calls.Load(); n != 1 {
		t.Errorf("credentials endpoint called %d times for two connections, want 1 (cached)", n)
	}
}

func TestMSKIAMEnvironmentAndStaticKeys(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	mech, _ := saslMechanism(config.SASL{Mechanism: config.SASLAWSMSKIAM})
	m, err := firstMessage(t, mech)
	if err != nil || !strings.HasPrefix(m["x-amz-credential"], "AKIAFROMENV/") {
		t.Errorf("env credentials: %v %v", m, err)
	}
	// Static keys in the config win over the chain.
	mech, _ = saslMechanism(config.SASL{Mechanism: config.SASLAWSMSKIAM, Username: "AKIASTATIC", Password: "s"})
	if m, err := firstMessage(t, mech); err != nil || !strings.HasPrefix(m["x-amz-credential"], "AKIASTATIC/") {
		t.Errorf("static credentials: %v %v", m, err)
	}
}

func TestMSKIAMNoCredentialsSaysWhatToSet(t *testing.T) {
	isolateAWS(t)
	mech, _ := saslMechanism(config.SASL{Mechanism: config.SASLAWSMSKIAM})
	_, err := firstMessage(t, mech)
	if !errors.Is(err, errNoAWSCredentials) || !strings.Contains(err.Error(), "ECS task role") {
		t.Errorf("err = %v", err)
	}
}

// The shared credentials file (AWS_PROFILE) is in the chain.
func TestMSKIAMSharedCredentialsProfile(t *testing.T) {
	isolateAWS(t)
	file := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(file, []byte("[arena]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profile-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	t.Setenv("AWS_PROFILE", "arena")
	mech, _ := saslMechanism(config.SASL{Mechanism: config.SASLAWSMSKIAM})
	if m, err := firstMessage(t, mech); err != nil || !strings.HasPrefix(m["x-amz-credential"], "AKIAPROFILE/") {
		t.Errorf("profile credentials: %v %v", m, err)
	}
}

// Web identity (EKS IRSA): the SDK trades the service account's token for
// role credentials at STS, here a local fake reached through the SDK's
// per-service endpoint variable.
func TestMSKIAMWebIdentity(t *testing.T) {
	isolateAWS(t)
	var gotToken atomic.Value
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		gotToken.Store(r.Form.Get("WebIdentityToken") + "|" + r.Form.Get("Action") + "|" + r.Form.Get("RoleArn"))
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>ASIAWEBIDENTITY</AccessKeyId>
      <SecretAccessKey>web-secret</SecretAccessKey>
      <SessionToken>web-session</SessionToken>
      <Expiration>` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/arena/x</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`))
	}))
	defer sts.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("eks-service-account-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/arena")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	mech, _ := saslMechanism(config.SASL{Mechanism: config.SASLAWSMSKIAM})
	m, err := firstMessage(t, mech)
	if err != nil || !strings.HasPrefix(m["x-amz-credential"], "ASIAWEBIDENTITY/") || m["x-amz-security-token"] != "web-session" {
		t.Fatalf("web identity credentials: %v %v", m, err)
	}
	if got, _ := gotToken.Load().(string); got != "eks-service-account-token|AssumeRoleWithWebIdentity|arn:aws:iam::123456789012:role/arena" {
		t.Errorf("STS got %q", got)
	}
}
