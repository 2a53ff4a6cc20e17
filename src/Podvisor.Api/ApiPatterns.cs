namespace Podvisor.Api;

/// <summary>Patterns the CRD schema and <see cref="ApiValidation"/> both enforce, kept in one place.</summary>
public static class ApiPatterns
{
    /// <summary>An RFC 1123 label: lower-case letters, digits and '-', at most 63 characters.</summary>
    public const string DnsLabel = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";

    public const string MacAddress = "^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$";
}
