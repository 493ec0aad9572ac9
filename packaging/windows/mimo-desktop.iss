; Inno Setup 6 script: dist\mimo-desktop-<version>-setup-x64.exe from build\bundle\mimo-desktop (made by
; packaging\windows\mimo-desktop.spec). NOT built or tested by this project's machines (Linux only).
;
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\mimo-desktop.iss
;
; Per-user install by default (no administrator prompt); the installer offers a machine-wide one.

#ifndef AppVersion
  #error Pass the version: ISCC /DAppVersion=X.Y.Z (mimo_desktop/__init__.py's __version__)
#endif

[Setup]
AppId={{5B0E6F3A-8C9D-4E21-9A57-0D4C2B1F7E63}
AppName=MiMo Desktop
AppVersion={#AppVersion}
AppPublisher=The MiMo Desktop developers
DefaultDirName={autopf}\MiMo Desktop
DefaultGroupName=MiMo Desktop
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=mimo-desktop-{#AppVersion}-setup-x64
SetupIconFile=..\..\build\icons\mimo-desktop.ico
UninstallDisplayIcon={app}\MiMo Desktop.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\build\bundle\mimo-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\MiMo Desktop"; Filename: "{app}\MiMo Desktop.exe"
Name: "{autodesktop}\MiMo Desktop"; Filename: "{app}\MiMo Desktop.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\MiMo Desktop.exe"; Description: "{cm:LaunchProgram,MiMo Desktop}"; Flags: nowait postinstall skipifsilent
