using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Controllers;
using Podvisor.Operator.Launcher;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Tests;

/// <summary>The operator's informers and controllers, running in the test process until disposed (like one operator process).</summary>
internal sealed class InProcessOperator : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;

    /// <param name="launchers">How the migration controller reaches launchers (default: over HTTPS, as the operator does).</param>
    public InProcessOperator(IKubernetes client, LauncherPodOptions? launcher = null, int workers = 2, ILauncherClient? launchers = null, MigrationLimits? limits = null)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        launcher ??= new LauncherPodOptions();
        _launcherClient = launchers is null ? new LauncherClient(launcher.ControlPort) : null;
        Controllers = new OperatorControllers(client, launcher, limits ?? new MigrationLimits(), launchers ?? _launcherClient!, workers: workers);
        _run = Task.Run(() => Controllers.RunAsync(_stop.Token));
    }

    public OperatorControllers Controllers { get; }
    public Informer<VirtualMachine> Vms => Controllers.Vms;
    public Informer<VirtualMachineInstance> Vmis => Controllers.Vmis;
    public Informer<V1Pod> Pods => Controllers.Pods;
    public VirtualMachineController VmController => Controllers.VmController;
    public VirtualMachineInstanceController VmiController => Controllers.VmiController;
    public Informer<VirtualMachineInstanceMigration> Migrations => Controllers.Migrations;
    public MigrationController MigrationController => Controllers.MigrationController;
    private readonly LauncherClient? _launcherClient;
    private readonly Task _run;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
        _launcherClient?.Dispose();
    }
}
