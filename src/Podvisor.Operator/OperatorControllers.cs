using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Controllers;
using Podvisor.Operator.Launcher;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator;

/// <summary>
/// The operator's informers and the controllers fed by them, wired once: the operator process runs this while it leads,
/// tests run it in-process. <see cref="RunAsync"/> starts the informers, waits for their first lists, then runs every
/// controller until cancelled.
/// </summary>
public sealed class OperatorControllers
{
    public OperatorControllers(IKubernetes client, LauncherPodOptions launcher, MigrationLimits limits, ILauncherClient launchers,
        Action<string>? log = null, int workers = 2)
    {
        Vms = CustomResourceInformers.Create<VirtualMachine>(client, "virtualmachines", log);
        Vmis = CustomResourceInformers.Create<VirtualMachineInstance>(client, "virtualmachineinstances", log);
        Migrations = CustomResourceInformers.Create<VirtualMachineInstanceMigration>(client, "virtualmachineinstancemigrations", log);
        Pods = PodInformers.Create(client, LauncherLabels.Selector, VirtualMachineInstanceController.VmiKeyOf, log);
        Nodes = NodeInformers.Create(client, log);
        var budgetApi = new DisruptionBudgets(client);
        Budgets = budgetApi.CreateInformer(Evacuation.BudgetSelector, EvacuationController.BudgetKeyOf, log);
        var events = new EventRecorder(client, "podvisor-operator", log);
        VmController = new VirtualMachineController(client, Vms, Vmis, events, log, workers);
        VmiController = new VirtualMachineInstanceController(client, Vmis, Pods, events, launcher, launchers, log, workers);
        MigrationController = new MigrationController(client, Migrations, Vmis, Pods, launchers, events, launcher, limits, log, workers);
        EvacuationController = new EvacuationController(client, Vmis, Migrations, Nodes, Budgets, budgetApi, events, log, workers);
    }

    public Informer<VirtualMachine> Vms { get; }
    public Informer<VirtualMachineInstance> Vmis { get; }
    public Informer<VirtualMachineInstanceMigration> Migrations { get; }
    public Informer<V1Pod> Pods { get; }
    public Informer<V1Node> Nodes { get; }
    public Informer<V1PodDisruptionBudget> Budgets { get; }
    public VirtualMachineController VmController { get; }
    public VirtualMachineInstanceController VmiController { get; }
    public MigrationController MigrationController { get; }
    public EvacuationController EvacuationController { get; }

    /// <summary>Runs until cancelled; <paramref name="synced"/> is told the cache sizes once the informers have listed.</summary>
    public async Task RunAsync(CancellationToken cancellationToken, Action<string>? synced = null)
    {
        var informers = new[]
        {
            Task.Run(() => Vms.RunAsync(cancellationToken)), Task.Run(() => Vmis.RunAsync(cancellationToken)),
            Task.Run(() => Migrations.RunAsync(cancellationToken)), Task.Run(() => Pods.RunAsync(cancellationToken)),
            Task.Run(() => Nodes.RunAsync(cancellationToken)), Task.Run(() => Budgets.RunAsync(cancellationToken)),
        };
        try
        {
            await Task.WhenAll(Vms.Synced, Vmis.Synced, Migrations.Synced, Pods.Synced, Nodes.Synced, Budgets.Synced).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await Task.WhenAll(informers);
            return;                                      // stopped before the caches synced
        }
        using var metrics = new OperatorMetrics(Vmis, Migrations);
        synced?.Invoke($"caches synced ({Vms.List().Count} VMs, {Vmis.List().Count} instances, {Pods.List().Count} launcher pods, " +
            $"{Migrations.List().Count} migrations, {Nodes.List().Count} nodes); controllers running");
        await Task.WhenAll(VmController.Controller.RunAsync(cancellationToken), VmiController.Controller.RunAsync(cancellationToken),
            MigrationController.Controller.RunAsync(cancellationToken), EvacuationController.Controller.RunAsync(cancellationToken));
        await Task.WhenAll(informers);
    }
}
