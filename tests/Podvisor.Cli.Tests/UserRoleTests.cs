using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Testing;

namespace Podvisor.Cli.Tests;

/// <summary>The chart's user roles with the CLI: a user bound to <c>podvisor.io:edit</c> in a namespace drives the VMs
/// there and is refused elsewhere with a message that says so; <c>podvisor.io:view</c> reads but cannot change.</summary>
public sealed class UserRoleTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The chart's ClusterRoles for users, as Helm renders them, applied with kubectl as the administrator.</summary>
    private async Task ApplyUserRolesAsync()
    {
        string rendered = await Helm.Tool.RunAsync(Path.Combine(Path.GetTempPath(), "none"), ["template", "podvisor", Helm.ChartDirectory, "-n", "podvisor-system",
            "--show-only", "templates/user-roles.yaml"], Ct);
        string file = Path.Combine(cluster.Server.StateDirectory, "user-roles.yaml");
        File.WriteAllText(file, rendered);
        await Kubectl.RunAsync(cluster.Server.KubeconfigPath, ["apply", "-f", file], Ct);
    }

    /// <summary>A kubeconfig for service account <paramref name="user"/> of <paramref name="ns"/>, bound to <paramref name="role"/> there.</summary>
    private async Task<string> UserKubeconfigAsync(string ns, string user, string role)
    {
        await cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = ns } }, cancellationToken: Ct);
        await cluster.Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new() { Name = user } }, ns, cancellationToken: Ct);
        await cluster.Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new() { Name = $"{user}-{role.Replace(':', '-')}" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = role },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = user, NamespaceProperty = ns }],
        }, ns, cancellationToken: Ct);
        return await cluster.Server.ServiceAccountKubeconfigAsync(ns, user, Ct);
    }

    private static Podvisor.Result Cli(string kubeconfig, params string[] args) => Podvisor.Run([.. args, "--kubeconfig", kubeconfig], native: true);

    [Fact]
    public async Task AnEditorDrivesTheNamespacesVmsAndIsRefusedElsewhere()
    {
        await ApplyUserRolesAsync();
        string alice = await UserKubeconfigAsync("team-a", "alice", "podvisor.io:edit");
        await cluster.CreateVmAsync("app", "runStrategy: Halted", ns: "team-a");
        await cluster.CreateVmAsync("other", "runStrategy: Halted");

        var start = Cli(alice, "start", "app", "-n", "team-a");
        Assert.True(start.ExitCode == 0, start.Stderr);
        Assert.Equal(RunStrategies.Always, (await cluster.GetVmAsync("app", "team-a"))!.Spec.RunStrategy);
        await cluster.CreateRunningVmiAsync("app", ns: "team-a");
        var restart = Cli(alice, "restart", "app", "-n", "team-a");
        Assert.True(restart.ExitCode == 0, restart.Stderr);             // a request in the VM's status
        var migrate = Cli(alice, "migrate", "app", "-n", "team-a", "--no-wait");
        Assert.True(migrate.ExitCode == 0, migrate.Stderr);
        Assert.Single(await cluster.MigrationsOfAsync("app", "team-a"));
        var status = Cli(alice, "status", "app", "-n", "team-a");
        Assert.True(status.ExitCode == 0, status.Stderr);               // without the right to read events
        Assert.Contains("Pending requests:", status.Stdout);
        Assert.Contains("app", Cli(alice, "list", "-n", "team-a").Stdout);

        var elsewhere = Cli(alice, "start", "other", "-n", "default");
        Assert.Equal(1, elsewhere.ExitCode);
        Assert.Contains("podvisor: the API server refused: ", elsewhere.Stderr);
        Assert.Contains("forbidden", elsewhere.Stderr);
        Assert.Contains("(ask your cluster administrator for that permission)", elsewhere.Stderr);
        Assert.Equal(RunStrategies.Halted, (await cluster.GetVmAsync("other"))!.Spec.RunStrategy);
    }

    [Fact]
    public async Task AViewerReadsButCannotChange()
    {
        await ApplyUserRolesAsync();
        string bob = await UserKubeconfigAsync("team-b", "bob", "podvisor.io:view");
        await cluster.CreateVmAsync("app", "runStrategy: Halted", ns: "team-b");
        Assert.Contains("app", Cli(bob, "list", "-n", "team-b").Stdout);
        var start = Cli(bob, "start", "app", "-n", "team-b");
        Assert.Equal(1, start.ExitCode);
        Assert.Contains("forbidden", start.Stderr);
        Assert.Equal(RunStrategies.Halted, (await cluster.GetVmAsync("app", "team-b"))!.Spec.RunStrategy);
    }
}
