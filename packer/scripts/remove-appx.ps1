<#
.SYNOPSIS
    Removes the AppX packages listed in W365_REMOVE_APPX (semicolon separated package names)
    for all users and from the provisioned set, then verifies that none is left.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force

$names = @((Get-W365Setting -Name 'W365_REMOVE_APPX' -AllowEmpty).Split(';') | ForEach-Object { $_.Trim() } | Where-Object { $_ -ne '' })
if ($names.Count -eq 0) {
    Write-W365Log 'No AppX packages to remove (remove_appx_packages is empty).'
    exit 0
}

foreach ($name in $names) {
    if ($name -notmatch '^[A-Za-z0-9.\-]+$') {
        throw "Invalid AppX package name '$name': use exact package names such as Microsoft.BingNews."
    }
}

$provisioned = @(Get-AppxProvisionedPackage -Online)
foreach ($name in $names) {
    foreach ($package in @(Get-AppxPackage -AllUsers -Name $name)) {
        Write-W365Log "Removing $($package.PackageFullName) for all users."
        Remove-AppxPackage -Package $package.PackageFullName -AllUsers
    }
    foreach ($package in @($provisioned | Where-Object { $_.DisplayName -eq $name })) {
        Write-W365Log "Removing provisioned package $($package.PackageName)."
        Remove-AppxProvisionedPackage -Online -PackageName $package.PackageName -AllUsers | Out-Null
    }
}

$left = New-Object System.Collections.Generic.List[string]
$provisionedAfter = @(Get-AppxProvisionedPackage -Online)
foreach ($name in $names) {
    foreach ($package in @(Get-AppxPackage -AllUsers -Name $name)) {
        $left.Add("installed: $($package.PackageFullName)")
    }
    foreach ($package in @($provisionedAfter | Where-Object { $_.DisplayName -eq $name })) {
        $left.Add("provisioned: $($package.PackageName)")
    }
}
if ($left.Count -gt 0) {
    throw "AppX packages still present after removal: $($left -join '; ')"
}
Write-W365Log "Removed AppX packages: $($names -join ', ')"
# Packer ends the step with `exit $LastExitCode`: say success explicitly.
exit 0
