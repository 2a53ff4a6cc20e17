using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Podvisor.Operator;

// podvisor-operator [--kubeconfig PATH] [--lease-namespace NS] [--identity NAME] [--launcher-image IMAGE]
//                   [--launcher-service-account NAME] [--device-access extended-resources|privileged]
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
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSingleton(options);
builder.Services.AddSingleton<IKubernetes>(_ => new Kubernetes(options.Kubeconfig is { } path
    ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path)
    : KubernetesClientConfiguration.InClusterConfig()));
builder.Services.AddHostedService<OperatorService>();
await builder.Build().RunAsync();
return Environment.ExitCode;
