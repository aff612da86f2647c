<#
    Saves Pester (pinned) into a repository-local folder with PowerShell's own PSResourceGet, from the NuGet
    feed this machine already uses. Nothing is installed for the user or the machine. Re-runs are no-ops.
#>
param(
    [Parameter(Mandatory)] [string] $Destination,
    [Parameter(Mandatory)] [string] $Version,
    # A NuGet v3 feed (what 'dotnet nuget list source' prints); empty: PowerShell's default gallery.
    [string] $FeedUri = ''
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$manifest = Join-Path $Destination "pester/$Version/tools/Pester.psd1"
if (Test-Path -LiteralPath $manifest -PathType Leaf) {
    return
}
New-Item -ItemType Directory -Path $Destination -Force | Out-Null
$repository = 'PSGallery'
if ($FeedUri -ne '') {
    $repository = 'w365-image-nuget'
    # -Force: registering again (a re-run, another clone) replaces the entry instead of failing.
    Register-PSResourceRepository -Name $repository -Uri $FeedUri -Trusted -Force
}
Save-PSResource -Name 'Pester' -Version $Version -Repository $repository -Path $Destination -TrustRepository
if (-not (Test-Path -LiteralPath $manifest -PathType Leaf)) {
    throw "Pester $Version was saved but $manifest is missing: the package layout changed."
}
