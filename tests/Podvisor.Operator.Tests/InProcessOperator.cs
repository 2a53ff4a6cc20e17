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
    private readonly Task[] _loops;

    /// <param name="launchers">How the migration controller reaches launchers (default: over HTTPS, as the operator does).</param>
    public InProcessOperator(IKubernetes client, LauncherPodOptions? launcher = null, int workers = 2, ILauncherClient? launchers = null, MigrationLimits? limits = null)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        Vms = CustomResourceInformers.Create<VirtualMachine>(client, "virtualmachines");
        Vmis = CustomResourceInformers.Create<VirtualMachineInstance>(client, "virtualmachineinstances");
        Pods = PodInformers.Create(client, LauncherLabels.Selector, VirtualMachineInstanceController.VmiKeyOf);
        Migrations = CustomResourceInformers.Create<VirtualMachineInstanceMigration>(client, "virtualmachineinstancemigrations");
        var events = new EventRecorder(client, "podvisor-operator");
        VmController = new VirtualMachineController(client, Vms, Vmis, events, workers: workers);
        VmiController = new VirtualMachineInstanceController(client, Vmis, Pods, events, launcher ?? new LauncherPodOptions(), workers: workers);
        _launcherClient = launchers is null ? new LauncherClient((launcher ?? new LauncherPodOptions()).ControlPort) : null;
        MigrationController = new MigrationController(client, Migrations, Vmis, Pods, launchers ?? _launcherClient!, events, launcher ?? new LauncherPodOptions(),
            limits ?? new MigrationLimits(), workers: workers);
        _loops = [Task.Run(() => Vms.RunAsync(_stop.Token)), Task.Run(() => Vmis.RunAsync(_stop.Token)), Task.Run(() => Pods.RunAsync(_stop.Token)),
            Task.Run(() => Migrations.RunAsync(_stop.Token))];
        _loops = [.. _loops, Task.Run(async () =>
        {
            try
            {
                await Task.WhenAll(Vms.Synced, Vmis.Synced, Pods.Synced, Migrations.Synced).WaitAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;                                  // stopped before the caches synced
            }
            await Task.WhenAll(VmController.Controller.RunAsync(_stop.Token), VmiController.Controller.RunAsync(_stop.Token), MigrationController.Controller.RunAsync(_stop.Token));
        })];
    }

    public Informer<VirtualMachine> Vms { get; }
    public Informer<VirtualMachineInstance> Vmis { get; }
    public Informer<V1Pod> Pods { get; }
    public VirtualMachineController VmController { get; }
    public VirtualMachineInstanceController VmiController { get; }
    public Informer<VirtualMachineInstanceMigration> Migrations { get; }
    public MigrationController MigrationController { get; }
    private readonly LauncherClient? _launcherClient;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
        _launcherClient?.Dispose();
    }
}
