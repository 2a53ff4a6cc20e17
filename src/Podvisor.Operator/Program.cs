using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Podvisor.Operator;

// podvisor-operator [--kubeconfig PATH] [--lease-namespace NS] [--identity NAME] [--launcher-image IMAGE]
//                   [--launcher-service-account NAME] [--device-access extended-resources|privileged]
Podvisor.Operator.Runtime.OperatorJson.Register();
OperatorOptions options;
try
{
    options = OperatorOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"podvisor-operator: {e.Message}");
    return 2;
}
KubernetesClientConfiguration cluster;
try
{
    cluster = options.Kubeconfig is { } path ? Podvisor.Api.Kubeconfig.Load(path) : KubernetesClientConfiguration.InClusterConfig();
}
catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine(options.Kubeconfig is null
        ? $"podvisor-operator: no cluster to run against: {e.Message} Outside a pod, give --kubeconfig FILE (or set KUBECONFIG)."
        : $"podvisor-operator: kubeconfig {options.Kubeconfig}: {e.Message}");
    return 2;
}
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSingleton(options);
builder.Services.AddSingleton<IKubernetes>(_ => new Kubernetes(cluster));
builder.Services.AddHostedService<OperatorService>();
await builder.Build().RunAsync();
return Environment.ExitCode;
