<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es_CL">
<context>
    <name>bessai</name>
    <message>
        <source>A PIN needs at least 6 digits, not all the same</source>
        <translation>Un PIN necesita al menos 6 dígitos, no todos iguales</translation>
    </message>
    <message>
        <source>A device's communication lost</source>
        <translation>Comunicación de un equipo perdida</translation>
    </message>
    <message>
        <source>A name is 2-32 characters: a-z, 0-9, '_', '.', '-', starting with a letter</source>
        <translation>Un nombre tiene 2-32 caracteres: a-z, 0-9, '_', '.', '-', y empieza con una letra</translation>
    </message>
    <message>
        <source>ACTIVE</source>
        <translation>ACTIVO</translation>
    </message>
    <message>
        <source>ALARM (at {0})</source>
        <translation>ALARMA (desde {0})</translation>
    </message>
    <message>
        <source>Access</source>
        <translation>Acceso</translation>
    </message>
    <message>
        <source>Account changed: {0}</source>
        <translation>Cuenta modificada: {0}</translation>
    </message>
    <message>
        <source>Account locked for a while after too many failures</source>
        <translation>Cuenta bloqueada un tiempo tras demasiados intentos fallidos</translation>
    </message>
    <message>
        <source>Accounts exist already: log in</source>
        <translation>Ya existen cuentas: inicie sesión</translation>
    </message>
    <message>
        <source>Acknowledge</source>
        <translation>Reconocer</translation>
    </message>
    <message>
        <source>Acknowledge all</source>
        <translation>Reconocer todas</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>Acción</translation>
    </message>
    <message>
        <source>Active alarms</source>
        <translation>Alarmas activas</translation>
    </message>
    <message>
        <source>Active power</source>
        <translation>Potencia activa</translation>
    </message>
    <message>
        <source>Active, acknowledged</source>
        <translation>Activa, reconocida</translation>
    </message>
    <message>
        <source>Active, not acknowledged</source>
        <translation>Activa, sin reconocer</translation>
    </message>
    <message>
        <source>Active-power setpoint in force (kW)</source>
        <translation>Consigna de potencia activa vigente (kW)</translation>
    </message>
    <message>
        <source>Add device</source>
        <translation>Agregar equipo</translation>
    </message>
    <message>
        <source>Add user (admin)</source>
        <translation>Agregar usuario (admin)</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Dirección</translation>
    </message>
    <message>
        <source>After the reset the battery stays in Standby: nothing resumes by itself.</source>
        <translation>Tras la reposición la batería queda en Reposo: nada se reanuda por sí solo.</translation>
    </message>
    <message>
        <source>After the safety guard: {0:+.1f} kW</source>
        <translation>Tras la protección: {0:+.1f} kW</translation>
    </message>
    <message>
        <source>After the safety guard: {0} kW</source>
        <translation>Tras la protección: {0} kW</translation>
    </message>
    <message>
        <source>After: {0}</source>
        <translation>Después de: {0}</translation>
    </message>
    <message>
        <source>Age</source>
        <translation>Antigüedad</translation>
    </message>
    <message>
        <source>Alarm</source>
        <translation>Alarma</translation>
    </message>
    <message>
        <source>Alarm acknowledged</source>
        <translation>Alarma reconocida</translation>
    </message>
    <message>
        <source>Alarm history</source>
        <translation>Historial de alarmas</translation>
    </message>
    <message>
        <source>Alarm shelved</source>
        <translation>Alarma suspendida</translation>
    </message>
    <message>
        <source>Alarms</source>
        <translation>Alarmas</translation>
    </message>
    <message>
        <source>Alarms and events</source>
        <translation>Alarmas y eventos</translation>
    </message>
    <message>
        <source>Alarms: {0}</source>
        <translation>Alarmas: {0}</translation>
    </message>
    <message>
        <source>All alarms acknowledged</source>
        <translation>Todas las alarmas reconocidas</translation>
    </message>
    <message>
        <source>Allowed charge now (kW)</source>
        <translation>Carga permitida ahora (kW)</translation>
    </message>
    <message>
        <source>Allowed discharge now (kW)</source>
        <translation>Descarga permitida ahora (kW)</translation>
    </message>
    <message>
        <source>Allowed now: 0 kW (interlock)</source>
        <translation>Permitido ahora: 0 kW (enclavamiento)</translation>
    </message>
    <message>
        <source>Allowed now: {0:+.1f} … {1:+.1f} kW (charge … discharge)</source>
        <translation>Permitido ahora: {0:+.1f} … {1:+.1f} kW (carga … descarga)</translation>
    </message>
    <message>
        <source>Allowed now: {0} … {1} kW (charge … discharge)</source>
        <translation>Permitido ahora: {0} … {1} kW (carga … descarga)</translation>
    </message>
    <message>
        <source>An engineer ends maintenance</source>
        <translation>Un ingeniero termina el mantenimiento</translation>
    </message>
    <message>
        <source>An engineer resets it (hold to confirm)</source>
        <translation>La repone un ingeniero (mantener para confirmar)</translation>
    </message>
    <message>
        <source>An interlock is active: see the checklist</source>
        <translation>Hay un enclavamiento activo: vea la lista</translation>
    </message>
    <message>
        <source>Anomalous Modbus traffic (possible intrusion)</source>
        <translation>Tráfico Modbus anómalo (posible intrusión)</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>Aplicar</translation>
    </message>
    <message>
        <source>Apply limits (engineer)</source>
        <translation>Aplicar límites (ingeniero)</translation>
    </message>
    <message>
        <source>Apply…</source>
        <translation>Aplicar…</translation>
    </message>
    <message>
        <source>Arm Auto</source>
        <translation>Armar Automático</translation>
    </message>
    <message>
        <source>Audit trail</source>
        <translation>Registro de auditoría</translation>
    </message>
    <message>
        <source>Audit trail shorter than its anchor: deleted or rolled back</source>
        <translation>Registro de auditoría más corto que su ancla: borrado o retrocedido</translation>
    </message>
    <message>
        <source>Authority is now {0}</source>
        <translation>La autoridad ahora es {0}</translation>
    </message>
    <message>
        <source>Authority: {0} since {1}, by {2}</source>
        <translation>Autoridad: {0} desde {1}, por {2}</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>Automático</translation>
    </message>
    <message>
        <source>Auto dispatch on the fallback rules (model not usable)</source>
        <translation>Despacho automático por reglas de respaldo (modelo no disponible)</translation>
    </message>
    <message>
        <source>Auto dispatch: model {0}, rules as fallback</source>
        <translation>Despacho automático: modelo {0}, reglas de respaldo</translation>
    </message>
    <message>
        <source>Auto dispatch: primary frequency response (droop on the grid frequency)</source>
        <translation>Despacho automático: control primario de frecuencia (estatismo sobre la frecuencia de red)</translation>
    </message>
    <message>
        <source>Auto dispatch: rules (time of use, peak shaving)</source>
        <translation>Despacho automático: reglas (horario, recorte de punta)</translation>
    </message>
    <message>
        <source>Auto dispatch: rules — the model is not usable: {0}</source>
        <translation>Despacho automático: reglas — el modelo no es utilizable: {0}</translation>
    </message>
    <message>
        <source>Auto dispatch: rules; model {0} in shadow mode (recorded, never written)</source>
        <translation>Despacho automático: reglas; modelo {0} en modo sombra (se registra, nunca se escribe)</translation>
    </message>
    <message>
        <source>Auto…</source>
        <translation>Automático…</translation>
    </message>
    <message>
        <source>Battery</source>
        <translation>Batería</translation>
    </message>
    <message>
        <source>Battery (BMS)</source>
        <translation>Batería (BMS)</translation>
    </message>
    <message>
        <source>Battery (BMS) not trusted: power held at zero</source>
        <translation>Batería (BMS) sin valores válidos: potencia en cero</translation>
    </message>
    <message>
        <source>Battery temperature</source>
        <translation>Temperatura de batería</translation>
    </message>
    <message>
        <source>Battery temperature (°C)</source>
        <translation>Temperatura de batería (°C)</translation>
    </message>
    <message>
        <source>Battery temperature high</source>
        <translation>Temperatura de batería alta</translation>
    </message>
    <message>
        <source>Battery {bms}: {quantity} {why}</source>
        <translation>Batería {bms}: {quantity} {why}</translation>
    </message>
    <message>
        <source>Baud rate</source>
        <translation>Velocidad (baudios)</translation>
    </message>
    <message>
        <source>CHARGING {0} kW</source>
        <translation>CARGANDO {0} kW</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <source>Change limits</source>
        <translation>Cambiar límites</translation>
    </message>
    <message>
        <source>Charge derated to {limit:.1f} kW: SoC near its ceiling</source>
        <translation>Carga reducida a {limit:.1f} kW: SoC cerca del máximo</translation>
    </message>
    <message>
        <source>Charge derated to {limit:.1f} kW: battery cold</source>
        <translation>Carga reducida a {limit:.1f} kW: batería fría</translation>
    </message>
    <message>
        <source>Charts</source>
        <translation>Gráficos</translation>
    </message>
    <message>
        <source>Choose Manual to enter a setpoint</source>
        <translation>Elija Manual para ingresar una consigna</translation>
    </message>
    <message>
        <source>Clamped to the maximum charge power {limit:.1f} kW</source>
        <translation>Limitada a la potencia máxima de carga {limit:.1f} kW</translation>
    </message>
    <message>
        <source>Clamped to the maximum discharge power {limit:.1f} kW</source>
        <translation>Limitada a la potencia máxima de descarga {limit:.1f} kW</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Borrar</translation>
    </message>
    <message>
        <source>Cleared, not acknowledged</source>
        <translation>Despejada, sin reconocer</translation>
    </message>
    <message>
        <source>Clears below the lockout score; an engineer reviews the traffic</source>
        <translation>Se libera bajo el puntaje de bloqueo; un ingeniero revisa el tráfico</translation>
    </message>
    <message>
        <source>Clears when the BMS answers with valid values, contactor closed, no alarm</source>
        <translation>Se despeja cuando el BMS responde con valores válidos, contactor cerrado y sin alarma</translation>
    </message>
    <message>
        <source>Clears when the device answers</source>
        <translation>Se libera cuando el equipo responde</translation>
    </message>
    <message>
        <source>Clears when the value is back within limits</source>
        <translation>Se libera cuando el valor vuelve a sus límites</translation>
    </message>
    <message>
        <source>Clears when the value is valid again</source>
        <translation>Se libera cuando el valor vuelve a ser válido</translation>
    </message>
    <message>
        <source>Clears with a fresh sample</source>
        <translation>Se libera con una muestra nueva</translation>
    </message>
    <message>
        <source>Clock stepped</source>
        <translation>Salto del reloj</translation>
    </message>
    <message>
        <source>Cloud outbox</source>
        <translation>Buzón hacia la nube</translation>
    </message>
    <message>
        <source>Cold trip</source>
        <translation>Disparo por frío</translation>
    </message>
    <message>
        <source>Command:</source>
        <translation>Comandar:</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>Comentario</translation>
    </message>
    <message>
        <source>Comment (optional)</source>
        <translation>Comentario (opcional)</translation>
    </message>
    <message>
        <source>Commissioning</source>
        <translation>Puesta en servicio</translation>
    </message>
    <message>
        <source>Communication</source>
        <translation>Comunicación</translation>
    </message>
    <message>
        <source>Confirm setpoint</source>
        <translation>Confirmar consigna</translation>
    </message>
    <message>
        <source>Confirm unverified power registers</source>
        <translation>Confirmar registros de potencia sin verificar</translation>
    </message>
    <message>
        <source>Confirm: {0} ({1} s)</source>
        <translation>Confirmar: {0} ({1} s)</translation>
    </message>
    <message>
        <source>Confirmed by {0}: on the audit record.</source>
        <translation>Confirmado por {0}: queda en la auditoría.</translation>
    </message>
    <message>
        <source>Connected masters</source>
        <translation>Maestros conectados</translation>
    </message>
    <message>
        <source>Connection OK: {0} unit {1}, {2} of {3} registers read</source>
        <translation>Conexión correcta: {0} unidad {1}, {2} de {3} registros leídos</translation>
    </message>
    <message>
        <source>Connection failed: {0}</source>
        <translation>Conexión fallida: {0}</translation>
    </message>
    <message>
        <source>Control</source>
        <translation>Control</translation>
    </message>
    <message>
        <source>Corrupt data file moved aside and replaced by a fresh one</source>
        <translation>Archivo de datos dañado: apartado y reemplazado por uno nuevo</translation>
    </message>
    <message>
        <source>Create the administrator</source>
        <translation>Crear el administrador</translation>
    </message>
    <message>
        <source>Critical</source>
        <translation>Crítica</translation>
    </message>
    <message>
        <source>DISCHARGING {0} kW</source>
        <translation>DESCARGANDO {0} kW</translation>
    </message>
    <message>
        <source>DOWN</source>
        <translation>CAÍDO</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>Oscuro</translation>
    </message>
    <message>
        <source>Data {age:.1f} s old (limit {limit:.1f} s)</source>
        <translation>Datos con {age:.1f} s de antigüedad (máximo {limit:.1f} s)</translation>
    </message>
    <message>
        <source>Dead band</source>
        <translation>Banda muerta</translation>
    </message>
    <message>
        <source>Detail</source>
        <translation>Detalle</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>Equipo</translation>
    </message>
    <message>
        <source>Device alarm</source>
        <translation>Alarma del equipo</translation>
    </message>
    <message>
        <source>Device removed</source>
        <translation>Equipo retirado</translation>
    </message>
    <message>
        <source>Device saved and polling</source>
        <translation>Equipo guardado y en lectura</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>Equipos</translation>
    </message>
    <message>
        <source>Discharge derated to {limit:.1f} kW: SoC near its floor</source>
        <translation>Descarga reducida a {limit:.1f} kW: SoC cerca del mínimo</translation>
    </message>
    <message>
        <source>Discover</source>
        <translation>Descubrir</translation>
    </message>
    <message>
        <source>Discovering…</source>
        <translation>Descubriendo…</translation>
    </message>
    <message>
        <source>Discovery needs the host (Modbus TCP)</source>
        <translation>El descubrimiento necesita la dirección (Modbus TCP)</translation>
    </message>
    <message>
        <source>Discovery stopped: {0}</source>
        <translation>Descubrimiento detenido: {0}</translation>
    </message>
    <message>
        <source>Disk store write failing (DATA_DIR): records held in memory</source>
        <translation>Falla de escritura en disco (DATA_DIR): registros retenidos en memoria</translation>
    </message>
    <message>
        <source>Dispatch model not usable: rules in use</source>
        <translation>Modelo de despacho no utilizable: se usan las reglas</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Hecho</translation>
    </message>
    <message>
        <source>Drop the link (during a test)</source>
        <translation>Cortar el enlace (en una prueba)</translation>
    </message>
    <message>
        <source>Drop the simulated link for 5 s</source>
        <translation>Cortar el enlace simulado 5 s</translation>
    </message>
    <message>
        <source>E-STOP</source>
        <translation>PARADA DE EMERGENCIA</translation>
    </message>
    <message>
        <source>E-STOP LATCHED</source>
        <translation>PARADA ENCLAVADA</translation>
    </message>
    <message>
        <source>E-stop</source>
        <translation>Parada de emergencia</translation>
    </message>
    <message>
        <source>E-stop latched</source>
        <translation>Parada de emergencia enclavada</translation>
    </message>
    <message>
        <source>E-stop reset</source>
        <translation>Reposición de parada</translation>
    </message>
    <message>
        <source>EMERGENCY STOP</source>
        <translation>PARADA DE EMERGENCIA</translation>
    </message>
    <message>
        <source>EMERGENCY STOP LATCHED</source>
        <translation>PARADA DE EMERGENCIA ENCLAVADA</translation>
    </message>
    <message>
        <source>EMERGENCY STOP LATCHED: {0}</source>
        <translation>PARADA DE EMERGENCIA ENCLAVADA: {0}</translation>
    </message>
    <message>
        <source>EMERGENCY STOP: {0}</source>
        <translation>PARADA DE EMERGENCIA: {0}</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>Editar</translation>
    </message>
    <message>
        <source>Edit device</source>
        <translation>Editar equipo</translation>
    </message>
    <message>
        <source>Emergency stop</source>
        <translation>Parada de emergencia</translation>
    </message>
    <message>
        <source>Emergency stop latched since {0}</source>
        <translation>Parada de emergencia enclavada desde {0}</translation>
    </message>
    <message>
        <source>Emergency stop latched: an engineer must reset it</source>
        <translation>Parada de emergencia enclavada: un ingeniero debe reponerla</translation>
    </message>
    <message>
        <source>Event</source>
        <translation>Evento</translation>
    </message>
    <message>
        <source>FAIL</source>
        <translation>FALLIDA</translation>
    </message>
    <message>
        <source>File…</source>
        <translation>Archivo…</translation>
    </message>
    <message>
        <source>First out</source>
        <translation>Primera</translation>
    </message>
    <message>
        <source>Fleet</source>
        <translation>Flota</translation>
    </message>
    <message>
        <source>Follow</source>
        <translation>Seguir</translation>
    </message>
    <message>
        <source>Fresh data</source>
        <translation>Datos frescos</translation>
    </message>
    <message>
        <source>Grid</source>
        <translation>Red</translation>
    </message>
    <message>
        <source>Grid frequency (Hz)</source>
        <translation>Frecuencia de la red (Hz)</translation>
    </message>
    <message>
        <source>Grid operator's link (IEC 60870-5-104)</source>
        <translation>Enlace con el operador de red (IEC 60870-5-104)</translation>
    </message>
    <message>
        <source>Grid operator's link lost while remote control is on</source>
        <translation>Enlace con el operador de red perdido con control remoto activo</translation>
    </message>
    <message>
        <source>Hand to the grid operator</source>
        <translation>Ceder al operador de red</translation>
    </message>
    <message>
        <source>High</source>
        <translation>Alta</translation>
    </message>
    <message>
        <source>Hold to confirm</source>
        <translation>Mantener para confirmar</translation>
    </message>
    <message>
        <source>Host</source>
        <translation>Dirección</translation>
    </message>
    <message>
        <source>IDLE</source>
        <translation>EN REPOSO</translation>
    </message>
    <message>
        <source>INTERLOCK</source>
        <translation>ENCLAVADO</translation>
    </message>
    <message>
        <source>INTERLOCK {0}: {1}</source>
        <translation>ENCLAVAMIENTO {0}: {1}</translation>
    </message>
    <message>
        <source>INTERLOCK: {0}</source>
        <translation>ENCLAVAMIENTO: {0}</translation>
    </message>
    <message>
        <source>INTRUSION ALARM {0}: {1}</source>
        <translation>ALARMA DE INTRUSIÓN {0}: {1}</translation>
    </message>
    <message>
        <source>INTRUSION ALARM: score {0}</source>
        <translation>ALARMA DE INTRUSIÓN: puntaje {0}</translation>
    </message>
    <message>
        <source>INTRUSION LOCKOUT {0}: {1}</source>
        <translation>BLOQUEO POR INTRUSIÓN {0}: {1}</translation>
    </message>
    <message>
        <source>INTRUSION LOCKOUT: score {0}</source>
        <translation>BLOQUEO POR INTRUSIÓN: puntaje {0}</translation>
    </message>
    <message>
        <source>IOA</source>
        <translation>IOA</translation>
    </message>
    <message>
        <source>In Remote the grid operator commands mode and setpoint; the E-stop always works</source>
        <translation>En Remota el operador de red manda el modo y la consigna; la parada de emergencia siempre funciona</translation>
    </message>
    <message>
        <source>In force at once on every device without its own value</source>
        <translation>En vigor de inmediato en cada equipo sin valor propio</translation>
    </message>
    <message>
        <source>In force at once on every device without its own value; saved to {0}</source>
        <translation>En vigor de inmediato en cada equipo sin valor propio; guardado en {0}</translation>
    </message>
    <message>
        <source>In force at once on {0}</source>
        <translation>En vigor de inmediato en {0}</translation>
    </message>
    <message>
        <source>In force at once on {0}; saved to {1}</source>
        <translation>En vigor de inmediato en {0}; guardado en {1}</translation>
    </message>
    <message>
        <source>Inputs: {0} h, SoC {1} %, PV {2} kW, load {3} kW, {4} USD/MWh</source>
        <translation>Entradas: {0} h, SoC {1} %, FV {2} kW, consumo {3} kW, costo marginal {4} USD/MWh</translation>
    </message>
    <message>
        <source>Interlocks</source>
        <translation>Enclavamientos</translation>
    </message>
    <message>
        <source>Intrusion lockout</source>
        <translation>Bloqueo por intrusión</translation>
    </message>
    <message>
        <source>Intrusion score</source>
        <translation>Puntaje de intrusión</translation>
    </message>
    <message>
        <source>Intrusion score {score:.2f} above the lockout threshold {limit:.2f}</source>
        <translation>Puntaje de intrusión {score:.2f} sobre el umbral de bloqueo {limit:.2f}</translation>
    </message>
    <message>
        <source>Invalid limits: {detail}</source>
        <translation>Límites inválidos: {detail}</translation>
    </message>
    <message>
        <source>Keep holding until the button is full</source>
        <translation>Mantenga presionado hasta que el botón se llene</translation>
    </message>
    <message>
        <source>Keyboard</source>
        <translation>Teclado</translation>
    </message>
    <message>
        <source>LOCKOUT</source>
        <translation>BLOQUEO</translation>
    </message>
    <message>
        <source>LOCKOUT (at {0})</source>
        <translation>BLOQUEO (desde {0})</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Idioma</translation>
    </message>
    <message>
        <source>Last command</source>
        <translation>Último comando</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>Claro</translation>
    </message>
    <message>
        <source>Limited to {limit:.1f} kW by the battery's BMS</source>
        <translation>Limitada a {limit:.1f} kW por el BMS de la batería</translation>
    </message>
    <message>
        <source>Limits</source>
        <translation>Límites</translation>
    </message>
    <message>
        <source>Limits of</source>
        <translation>Límites de</translation>
    </message>
    <message>
        <source>Limits saved; in force on: {0}</source>
        <translation>Límites guardados; en vigor en: {0}</translation>
    </message>
    <message>
        <source>Link</source>
        <translation>Enlace</translation>
    </message>
    <message>
        <source>Local</source>
        <translation>Local</translation>
    </message>
    <message>
        <source>Local (this screen)</source>
        <translation>Local (esta pantalla)</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>Ingresar</translation>
    </message>
    <message>
        <source>Log in as an operator to command the battery</source>
        <translation>Ingrese como operador para comandar la batería</translation>
    </message>
    <message>
        <source>Log out</source>
        <translation>Salir</translation>
    </message>
    <message>
        <source>Login refused</source>
        <translation>Inicio de sesión rechazado</translation>
    </message>
    <message>
        <source>Low</source>
        <translation>Baja</translation>
    </message>
    <message>
        <source>Maintenance</source>
        <translation>Mantenimiento</translation>
    </message>
    <message>
        <source>Maintenance changed</source>
        <translation>Mantenimiento cambiado</translation>
    </message>
    <message>
        <source>Maintenance lockout active</source>
        <translation>Bloqueo de mantenimiento activo</translation>
    </message>
    <message>
        <source>Maintenance: ON</source>
        <translation>Mantenimiento: ACTIVO</translation>
    </message>
    <message>
        <source>Maintenance: choose a device</source>
        <translation>Mantenimiento: elija un equipo</translation>
    </message>
    <message>
        <source>Maintenance: off</source>
        <translation>Mantenimiento: inactivo</translation>
    </message>
    <message>
        <source>Manual</source>
        <translation>Manual</translation>
    </message>
    <message>
        <source>Manual lease: {0} left</source>
        <translation>Consigna manual: quedan {0}</translation>
    </message>
    <message>
        <source>Manual only after an engineer confirms; Auto and remote control are refused until a commissioning run measures the power's sign and scale.</source>
        <translation>Manual solo tras la confirmación de un ingeniero; Auto y el control remoto se rechazan hasta que una puesta en servicio mida el signo y la escala de la potencia.</translation>
    </message>
    <message>
        <source>Manual setpoint lease expired: back to standby</source>
        <translation>Vencido el plazo de la consigna manual: vuelta a reposo</translation>
    </message>
    <message>
        <source>Maps</source>
        <translation>Corresponde a</translation>
    </message>
    <message>
        <source>Max charge power</source>
        <translation>Potencia máx. de carga</translation>
    </message>
    <message>
        <source>Max discharge power</source>
        <translation>Potencia máx. de descarga</translation>
    </message>
    <message>
        <source>Max ramp</source>
        <translation>Rampa máx.</translation>
    </message>
    <message>
        <source>Measurement not valid: power held at zero</source>
        <translation>Medición no válida: potencia en cero</translation>
    </message>
    <message>
        <source>Measurement not valid: {detail}</source>
        <translation>Medición no válida: {detail}</translation>
    </message>
    <message>
        <source>Medium</source>
        <translation>Media</translation>
    </message>
    <message>
        <source>Mixed</source>
        <translation>Mixto</translation>
    </message>
    <message>
        <source>Mode</source>
        <translation>Modo</translation>
    </message>
    <message>
        <source>Mode {mode} does not take manual setpoints</source>
        <translation>El modo {mode} no acepta consignas manuales</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modelo</translation>
    </message>
    <message>
        <source>NO COMMS</source>
        <translation>SIN COM.</translation>
    </message>
    <message>
        <source>NO COMMUNICATION: {0}</source>
        <translation>SIN COMUNICACIÓN: {0}</translation>
    </message>
    <message>
        <source>NO DATA YET</source>
        <translation>SIN DATOS AÚN</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Nombre</translation>
    </message>
    <message>
        <source>New PIN (6 digits or more)</source>
        <translation>PIN nuevo (6 dígitos o más)</translation>
    </message>
    <message>
        <source>New PIN or password</source>
        <translation>Nuevo PIN o contraseña</translation>
    </message>
    <message>
        <source>New user</source>
        <translation>Nuevo usuario</translation>
    </message>
    <message>
        <source>No SunSpec map and no shipped profile fits; unit {0} answers</source>
        <translation>Sin mapa SunSpec y ningún perfil incluido calza; responde la unidad {0}</translation>
    </message>
    <message>
        <source>No SunSpec map; unit {0} answers; matching profiles: {1}</source>
        <translation>Sin mapa SunSpec; responde la unidad {0}; perfiles que calzan: {1}</translation>
    </message>
    <message>
        <source>No accounts yet: create the administrator on the local console</source>
        <translation>Aún no hay cuentas: cree el administrador en la consola local</translation>
    </message>
    <message>
        <source>No charging below</source>
        <translation>Sin carga bajo</translation>
    </message>
    <message>
        <source>No command received</source>
        <translation>Ningún comando recibido</translation>
    </message>
    <message>
        <source>No communication with the device</source>
        <translation>Sin comunicación con el equipo</translation>
    </message>
    <message>
        <source>No communication with: {0}</source>
        <translation>Sin comunicación con: {0}</translation>
    </message>
    <message>
        <source>No control</source>
        <translation>Sin control</translation>
    </message>
    <message>
        <source>No device with a setpoint register: control is not available.</source>
        <translation>Ningún equipo tiene registro de consigna: el control no está disponible.</translation>
    </message>
    <message>
        <source>No fleet subscription configured (GCP_FLEET_SUBSCRIPTION, GCP_PROJECT_ID)</source>
        <translation>Sin suscripción de flota configurada (GCP_FLEET_SUBSCRIPTION, GCP_PROJECT_ID)</translation>
    </message>
    <message>
        <source>No master connected</source>
        <translation>Ningún maestro conectado</translation>
    </message>
    <message>
        <source>No power allowed: {0}</source>
        <translation>Sin potencia permitida: {0}</translation>
    </message>
    <message>
        <source>No unit id answered</source>
        <translation>Ninguna unidad respondió</translation>
    </message>
    <message>
        <source>No user with control rights is logged in</source>
        <translation>Ningún usuario con permiso de control ha iniciado sesión</translation>
    </message>
    <message>
        <source>Non-numeric setpoint refused</source>
        <translation>Consigna no numérica rechazada</translation>
    </message>
    <message>
        <source>Normal</source>
        <translation>Normal</translation>
    </message>
    <message>
        <source>Not a simulated device: pull the cable</source>
        <translation>No es un equipo simulado: desconecte el cable</translation>
    </message>
    <message>
        <source>Not accepted here: {0}</source>
        <translation>No se acepta aquí: {0}</translation>
    </message>
    <message>
        <source>Not confirmed in time: authority unchanged</source>
        <translation>No confirmado a tiempo: la autoridad no cambia</translation>
    </message>
    <message>
        <source>Nothing changed</source>
        <translation>Nada cambió</translation>
    </message>
    <message>
        <source>Now: {0}</source>
        <translation>Ahora: {0}</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>Aceptar</translation>
    </message>
    <message>
        <source>Only an admin may add users</source>
        <translation>Solo un administrador puede agregar usuarios</translation>
    </message>
    <message>
        <source>Other user</source>
        <translation>Otro usuario</translation>
    </message>
    <message>
        <source>Outbox</source>
        <translation>Buzón</translation>
    </message>
    <message>
        <source>Outbox full: oldest samples dropped</source>
        <translation>Buzón de envío lleno: se descartan muestras antiguas</translation>
    </message>
    <message>
        <source>Outcome</source>
        <translation>Resultado</translation>
    </message>
    <message>
        <source>Overview</source>
        <translation>Resumen</translation>
    </message>
    <message>
        <source>PASS</source>
        <translation>APROBADA</translation>
    </message>
    <message>
        <source>PIN or password</source>
        <translation>PIN o contraseña</translation>
    </message>
    <message>
        <source>POI meter reading not trusted</source>
        <translation>Medidor del punto de conexión sin lectura válida</translation>
    </message>
    <message>
        <source>PV</source>
        <translation>FV</translation>
    </message>
    <message>
        <source>Pack current</source>
        <translation>Corriente del banco</translation>
    </message>
    <message>
        <source>Pack current max</source>
        <translation>Corriente máx. del pack</translation>
    </message>
    <message>
        <source>Pack voltage</source>
        <translation>Tensión del banco</translation>
    </message>
    <message>
        <source>Pack voltage max</source>
        <translation>Tensión máx. del pack</translation>
    </message>
    <message>
        <source>Pack voltage min</source>
        <translation>Tensión mín. del pack</translation>
    </message>
    <message>
        <source>Parity</source>
        <translation>Paridad</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pausa</translation>
    </message>
    <message>
        <source>Point list</source>
        <translation>Lista de puntos</translation>
    </message>
    <message>
        <source>Poll every</source>
        <translation>Leer cada</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>Puerto</translation>
    </message>
    <message>
        <source>Power</source>
        <translation>Potencia</translation>
    </message>
    <message>
        <source>Power and setpoint (kW)</source>
        <translation>Potencia y consigna (kW)</translation>
    </message>
    <message>
        <source>Power derated to {limit:.1f} kW for battery temperature</source>
        <translation>Potencia reducida a {limit:.1f} kW por temperatura de batería</translation>
    </message>
    <message>
        <source>Power flow</source>
        <translation>Flujo de potencia</translation>
    </message>
    <message>
        <source>Power kW</source>
        <translation>Potencia kW</translation>
    </message>
    <message>
        <source>Presets (kW): charge ◀ ▶ discharge</source>
        <translation>Valores rápidos (kW): carga ◀ ▶ descarga</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>Prioridad</translation>
    </message>
    <message>
        <source>Profile</source>
        <translation>Perfil</translation>
    </message>
    <message>
        <source>Profile loaded</source>
        <translation>Perfil cargado</translation>
    </message>
    <message>
        <source>Proposal {0:+.1f} kW</source>
        <translation>Propuesta {0:+.1f} kW</translation>
    </message>
    <message>
        <source>Proposal {0} kW</source>
        <translation>Propuesta {0} kW</translation>
    </message>
    <message>
        <source>Protection trip</source>
        <translation>Disparo de protección</translation>
    </message>
    <message>
        <source>Protection trip active</source>
        <translation>Disparo de protección activo</translation>
    </message>
    <message>
        <source>Protection trip: {detail}</source>
        <translation>Disparo de protección: {detail}</translation>
    </message>
    <message>
        <source>Raised</source>
        <translation>Activada</translation>
    </message>
    <message>
        <source>Ramp limited to {limit:.1f} kW/s</source>
        <translation>Rampa limitada a {limit:.1f} kW/s</translation>
    </message>
    <message>
        <source>Raw words</source>
        <translation>Palabras</translation>
    </message>
    <message>
        <source>Reactive power (kvar)</source>
        <translation>Potencia reactiva (kvar)</translation>
    </message>
    <message>
        <source>Reactive setpoint</source>
        <translation>Consigna reactiva</translation>
    </message>
    <message>
        <source>Read only</source>
        <translation>Solo lectura</translation>
    </message>
    <message>
        <source>Refused: {detail}</source>
        <translation>Rechazado: {detail}</translation>
    </message>
    <message>
        <source>Register write</source>
        <translation>Escritura de registro</translation>
    </message>
    <message>
        <source>Registers</source>
        <translation>Registros</translation>
    </message>
    <message>
        <source>Remote</source>
        <translation>Remoto</translation>
    </message>
    <message>
        <source>Remote (grid operator)</source>
        <translation>Remota (operador de red)</translation>
    </message>
    <message>
        <source>Remote authority (1 = remote)</source>
        <translation>Autoridad remota (1 = remota)</translation>
    </message>
    <message>
        <source>Remote control (ON = follow the grid operator)</source>
        <translation>Control remoto (ON = seguir al operador de red)</translation>
    </message>
    <message>
        <source>Remote control left</source>
        <translation>Control remoto dejado</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Quitar</translation>
    </message>
    <message>
        <source>Remove device</source>
        <translation>Retirar equipo</translation>
    </message>
    <message>
        <source>Remove user</source>
        <translation>Quitar usuario</translation>
    </message>
    <message>
        <source>Report saved: {0} and .json</source>
        <translation>Informe guardado: {0} y .json</translation>
    </message>
    <message>
        <source>Reset E-stop</source>
        <translation>Reponer parada de emergencia</translation>
    </message>
    <message>
        <source>Reset E-stop (engineer)</source>
        <translation>Reponer parada (ingeniero)</translation>
    </message>
    <message>
        <source>Reset E-stop (engineer)…</source>
        <translation>Reponer parada (ingeniero)…</translation>
    </message>
    <message>
        <source>Reset PIN</source>
        <translation>Restablecer PIN</translation>
    </message>
    <message>
        <source>Revert</source>
        <translation>Deshacer</translation>
    </message>
    <message>
        <source>Role {role} may not {action}</source>
        <translation>El rol {role} no puede {action}</translation>
    </message>
    <message>
        <source>STALE</source>
        <translation>SIN DATOS RECIENTES</translation>
    </message>
    <message>
        <source>Safety trip</source>
        <translation>Disparo de protección</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Guardar</translation>
    </message>
    <message>
        <source>Saved to {0}</source>
        <translation>Se guarda en {0}</translation>
    </message>
    <message>
        <source>Scale</source>
        <translation>Escala</translation>
    </message>
    <message>
        <source>Select an alarm first</source>
        <translation>Seleccione primero una alarma</translation>
    </message>
    <message>
        <source>Serial port</source>
        <translation>Puerto serie</translation>
    </message>
    <message>
        <source>Setpoint</source>
        <translation>Consigna</translation>
    </message>
    <message>
        <source>Setpoint (kW)</source>
        <translation>Consigna (kW)</translation>
    </message>
    <message>
        <source>Setpoint accepted</source>
        <translation>Consigna aceptada</translation>
    </message>
    <message>
        <source>Setpoint applied: {0:+.1f} kW</source>
        <translation>Consigna aplicada: {0:+.1f} kW</translation>
    </message>
    <message>
        <source>Setpoint applied: {0} kW</source>
        <translation>Consigna aplicada: {0} kW</translation>
    </message>
    <message>
        <source>Setpoint write</source>
        <translation>Escritura de consigna</translation>
    </message>
    <message>
        <source>Setpoint write failed</source>
        <translation>Escritura de consigna fallida</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Ajustes</translation>
    </message>
    <message>
        <source>Shelve 1 h (engineer)</source>
        <translation>Suspender 1 h (ingeniero)</translation>
    </message>
    <message>
        <source>Shipped file changed (model, profile or translation): refused</source>
        <translation>Archivo del paquete modificado (modelo, perfil o traducción): rechazado</translation>
    </message>
    <message>
        <source>Site</source>
        <translation>Sitio</translation>
    </message>
    <message>
        <source>Site (all batteries)</source>
        <translation>Sitio (todas las baterías)</translation>
    </message>
    <message>
        <source>Site (every device)</source>
        <translation>Sitio (todos los equipos)</translation>
    </message>
    <message>
        <source>Site SoC (%)</source>
        <translation>SoC del sitio (%)</translation>
    </message>
    <message>
        <source>Site active power (kW, + = discharge)</source>
        <translation>Potencia activa del sitio (kW, + = descarga)</translation>
    </message>
    <message>
        <source>Site active-power setpoint (kW)</source>
        <translation>Consigna de potencia activa del sitio (kW)</translation>
    </message>
    <message>
        <source>Site devices</source>
        <translation>Equipos del sitio</translation>
    </message>
    <message>
        <source>Site load</source>
        <translation>Consumo</translation>
    </message>
    <message>
        <source>Site mode</source>
        <translation>Modo del sitio</translation>
    </message>
    <message>
        <source>Site reactive setpoint</source>
        <translation>Consigna reactiva del sitio</translation>
    </message>
    <message>
        <source>Site reactive-power setpoint (kvar)</source>
        <translation>Consigna de potencia reactiva del sitio (kvar)</translation>
    </message>
    <message>
        <source>Site setpoint</source>
        <translation>Consigna del sitio</translation>
    </message>
    <message>
        <source>SoC ceiling</source>
        <translation>Techo de SoC</translation>
    </message>
    <message>
        <source>SoC floor</source>
        <translation>Piso de SoC</translation>
    </message>
    <message>
        <source>SoC high</source>
        <translation>SoC alto</translation>
    </message>
    <message>
        <source>SoC low</source>
        <translation>SoC bajo</translation>
    </message>
    <message>
        <source>Stale data</source>
        <translation>Datos desactualizados</translation>
    </message>
    <message>
        <source>Standby</source>
        <translation>Reposo</translation>
    </message>
    <message>
        <source>Start tests (engineer)</source>
        <translation>Iniciar pruebas (ingeniero)</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>State of charge</source>
        <translation>Estado de carga</translation>
    </message>
    <message>
        <source>State of charge (%)</source>
        <translation>Estado de carga (%)</translation>
    </message>
    <message>
        <source>Stop bits</source>
        <translation>Bits de parada</translation>
    </message>
    <message>
        <source>SunSpec device {0} {1} (firmware {2}), unit {3}: profile saved to {4}</source>
        <translation>Equipo SunSpec {0} {1} (firmware {2}), unidad {3}: perfil guardado en {4}</translation>
    </message>
    <message>
        <source>Switching authority needs the engineer role</source>
        <translation>Cambiar la autoridad requiere el rol de ingeniero</translation>
    </message>
    <message>
        <source>TRIP</source>
        <translation>DISPARO</translation>
    </message>
    <message>
        <source>TRIP {0}: {1}</source>
        <translation>DISPARO {0}: {1}</translation>
    </message>
    <message>
        <source>TRIP: {0}</source>
        <translation>DISPARO: {0}</translation>
    </message>
    <message>
        <source>Take back local</source>
        <translation>Recuperar en local</translation>
    </message>
    <message>
        <source>Tap Confirm within {0} s, or nothing changes</source>
        <translation>Toque Confirmar antes de {0} s, o nada cambia</translation>
    </message>
    <message>
        <source>Target: {0}</source>
        <translation>Destino: {0}</translation>
    </message>
    <message>
        <source>Temperature trip</source>
        <translation>Disparo por temperatura</translation>
    </message>
    <message>
        <source>Temperature warning</source>
        <translation>Aviso de temperatura</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>Probar conexión</translation>
    </message>
    <message>
        <source>Testing the connection…</source>
        <translation>Probando la conexión…</translation>
    </message>
    <message>
        <source>That user already exists</source>
        <translation>Ese usuario ya existe</translation>
    </message>
    <message>
        <source>The dispatcher proposes setpoints from now on; the safety guard clamps each.</source>
        <translation>Desde ahora el despacho propone consignas; la protección limita cada una.</translation>
    </message>
    <message>
        <source>The grid operator's link is not running</source>
        <translation>El enlace con el operador de red no está en marcha</translation>
    </message>
    <message>
        <source>The model would do {0:+.1f} kW</source>
        <translation>El modelo haría {0:+.1f} kW</translation>
    </message>
    <message>
        <source>The model would do {0} kW</source>
        <translation>El modelo haría {0} kW</translation>
    </message>
    <message>
        <source>The same PIN again</source>
        <translation>El mismo PIN otra vez</translation>
    </message>
    <message>
        <source>The site delivers less than asked</source>
        <translation>El sitio entrega menos de lo pedido</translation>
    </message>
    <message>
        <source>The site delivers {limit:.1f} kW ({by})</source>
        <translation>El sitio entrega {limit:.1f} kW ({by})</translation>
    </message>
    <message>
        <source>The site file keeps a backup of the previous version</source>
        <translation>El archivo del sitio guarda una copia de la versión anterior</translation>
    </message>
    <message>
        <source>The two PINs differ</source>
        <translation>Los dos PIN no coinciden</translation>
    </message>
    <message>
        <source>The wall clock stepped</source>
        <translation>El reloj del sistema saltó</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>Tema</translation>
    </message>
    <message>
        <source>This screen shows no fleet: an engineer can connect it to the fleet's telemetry</source>
        <translation>Esta pantalla no muestra la flota: un ingeniero puede conectarla a la telemetría de la flota</translation>
    </message>
    <message>
        <source>This site has no accounts yet. Create the administrator (local console only).</source>
        <translation>Este sitio aún no tiene cuentas. Cree el administrador (solo en la consola local).</translation>
    </message>
    <message>
        <source>This site's devices come from the environment: not editable here</source>
        <translation>Los equipos de este sitio vienen del entorno: no se editan aquí</translation>
    </message>
    <message>
        <source>This site's limits come from the environment: not editable here</source>
        <translation>Los límites de este sitio vienen del entorno: no se editan aquí</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Hora</translation>
    </message>
    <message>
        <source>Time to SoC limit at this power: {0}</source>
        <translation>Tiempo hasta el límite de SoC a esta potencia: {0}</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>Tipo</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>Unidad</translation>
    </message>
    <message>
        <source>Unit id</source>
        <translation>Unidad (id)</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>Desbloquear</translation>
    </message>
    <message>
        <source>Unverified power registers ({registers}): Manual needs an engineer's confirmation</source>
        <translation>Registros de potencia sin verificar ({registers}): el modo manual necesita la confirmación de un ingeniero</translation>
    </message>
    <message>
        <source>Unverified power registers ({registers}): {mode} control refused until a commissioning run has measured the sign and scale of the power</source>
        <translation>Registros de potencia sin verificar ({registers}): control {mode} rechazado hasta que una puesta en servicio mida el signo y la escala de la potencia</translation>
    </message>
    <message>
        <source>Unverified power registers: {0}. Starting confirms them for the run's Manual; a run that passes with its step test verifies them.</source>
        <translation>Registros de potencia sin verificar: {0}. Iniciar los confirma para el modo manual de la prueba; una puesta en servicio que aprueba con su escalón los verifica.</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Usuario</translation>
    </message>
    <message>
        <source>User added: {0} ({1})</source>
        <translation>Usuario agregado: {0} ({1})</translation>
    </message>
    <message>
        <source>Users</source>
        <translation>Usuarios</translation>
    </message>
    <message>
        <source>Valid measurements</source>
        <translation>Mediciones válidas</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Valor</translation>
    </message>
    <message>
        <source>Who are you?</source>
        <translation>¿Quién es usted?</translation>
    </message>
    <message>
        <source>Write (engineer)</source>
        <translation>Escribir (ingeniero)</translation>
    </message>
    <message>
        <source>Write failed or did not read back: {detail}</source>
        <translation>Escritura fallida o verificación incorrecta: {detail}</translation>
    </message>
    <message>
        <source>Wrong PIN or password</source>
        <translation>PIN o contraseña incorrectos</translation>
    </message>
    <message>
        <source>Zero setpoint (standby)</source>
        <translation>Consigna cero (reposo)</translation>
    </message>
    <message>
        <source>accepted</source>
        <translation>aceptado</translation>
    </message>
    <message>
        <source>acknowledged</source>
        <translation>reconocida</translation>
    </message>
    <message>
        <source>active since {0}</source>
        <translation>activo desde {0}</translation>
    </message>
    <message>
        <source>admin</source>
        <translation>administrador</translation>
    </message>
    <message>
        <source>alarm</source>
        <translation>alarma</translation>
    </message>
    <message>
        <source>all answering</source>
        <translation>todos responden</translation>
    </message>
    <message>
        <source>all clear</source>
        <translation>todo libre</translation>
    </message>
    <message>
        <source>allowed {0} … {1} kW</source>
        <translation>permitido {0} … {1} kW</translation>
    </message>
    <message>
        <source>authority already local</source>
        <translation>la autoridad ya es local</translation>
    </message>
    <message>
        <source>authority already remote</source>
        <translation>la autoridad ya es remota</translation>
    </message>
    <message>
        <source>authority is local</source>
        <translation>la autoridad es local</translation>
    </message>
    <message>
        <source>authority local</source>
        <translation>autoridad local</translation>
    </message>
    <message>
        <source>authority remote</source>
        <translation>autoridad remota</translation>
    </message>
    <message>
        <source>battery {temp_c:.1f} °C &lt;= {limit_c:.1f} °C (cold)</source>
        <translation>batería {temp_c:.1f} °C &lt;= {limit_c:.1f} °C (frío)</translation>
    </message>
    <message>
        <source>battery {temp_c:.1f} °C &gt;= {limit_c:.1f} °C</source>
        <translation>batería {temp_c:.1f} °C &gt;= {limit_c:.1f} °C</translation>
    </message>
    <message>
        <source>by {0}</source>
        <translation>por {0}</translation>
    </message>
    <message>
        <source>by {0} at {1}</source>
        <translation>por {0} a las {1}</translation>
    </message>
    <message>
        <source>cannot read the subscription: {0}</source>
        <translation>no se puede leer la suscripción: {0}</translation>
    </message>
    <message>
        <source>ceiling</source>
        <translation>máximo</translation>
    </message>
    <message>
        <source>charge</source>
        <translation>carga</translation>
    </message>
    <message>
        <source>charge {0} kW</source>
        <translation>carga {0} kW</translation>
    </message>
    <message>
        <source>charging</source>
        <translation>cargando</translation>
    </message>
    <message>
        <source>clamped</source>
        <translation>limitado</translation>
    </message>
    <message>
        <source>clear</source>
        <translation>libre</translation>
    </message>
    <message>
        <source>cleared</source>
        <translation>despejada</translation>
    </message>
    <message>
        <source>confirmed after a restart</source>
        <translation>confirmada tras un reinicio</translation>
    </message>
    <message>
        <source>connected {0}</source>
        <translation>conectado {0}</translation>
    </message>
    <message>
        <source>detected</source>
        <translation>detectado</translation>
    </message>
    <message>
        <source>device fault: {fault}</source>
        <translation>falla del equipo: {fault}</translation>
    </message>
    <message>
        <source>device removed</source>
        <translation>equipo retirado</translation>
    </message>
    <message>
        <source>discharge</source>
        <translation>descarga</translation>
    </message>
    <message>
        <source>discharge {0} kW</source>
        <translation>descarga {0} kW</translation>
    </message>
    <message>
        <source>discharging</source>
        <translation>descargando</translation>
    </message>
    <message>
        <source>done</source>
        <translation>hecho</translation>
    </message>
    <message>
        <source>driven by</source>
        <translation>por</translation>
    </message>
    <message>
        <source>engineer</source>
        <translation>ingeniero</translation>
    </message>
    <message>
        <source>exceptions</source>
        <translation>excepciones</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fallidas</translation>
    </message>
    <message>
        <source>fallback: {0}</source>
        <translation>respaldo: {0}</translation>
    </message>
    <message>
        <source>floor</source>
        <translation>mínimo</translation>
    </message>
    <message>
        <source>forced</source>
        <translation>forzado</translation>
    </message>
    <message>
        <source>frequency response</source>
        <translation>control de frecuencia</translation>
    </message>
    <message>
        <source>guard {0:+.1f} kW ({1})</source>
        <translation>protección {0:+.1f} kW ({1})</translation>
    </message>
    <message>
        <source>guard {0} kW ({1})</source>
        <translation>protección {0} kW ({1})</translation>
    </message>
    <message>
        <source>ids</source>
        <translation>intrusión</translation>
    </message>
    <message>
        <source>import +, export -</source>
        <translation>importación +, exportación -</translation>
    </message>
    <message>
        <source>intrusion</source>
        <translation>intrusión</translation>
    </message>
    <message>
        <source>intrusion detection off</source>
        <translation>detección de intrusión apagada</translation>
    </message>
    <message>
        <source>kW: + discharge, - charge</source>
        <translation>kW: + descarga, - carga</translation>
    </message>
    <message>
        <source>last sample</source>
        <translation>última muestra</translation>
    </message>
    <message>
        <source>latched</source>
        <translation>enclavado</translation>
    </message>
    <message>
        <source>learning</source>
        <translation>aprendiendo</translation>
    </message>
    <message>
        <source>limited by {0}: {1}</source>
        <translation>limitado por {0}: {1}</translation>
    </message>
    <message>
        <source>link down</source>
        <translation>enlace caído</translation>
    </message>
    <message>
        <source>link down: reconnect it</source>
        <translation>enlace caído: reconéctelo</translation>
    </message>
    <message>
        <source>link up</source>
        <translation>enlace activo</translation>
    </message>
    <message>
        <source>lockout</source>
        <translation>bloqueo</translation>
    </message>
    <message>
        <source>maintenance</source>
        <translation>mantenimiento</translation>
    </message>
    <message>
        <source>mode</source>
        <translation>modo</translation>
    </message>
    <message>
        <source>model</source>
        <translation>modelo</translation>
    </message>
    <message>
        <source>no</source>
        <translation>no</translation>
    </message>
    <message>
        <source>no baseline yet</source>
        <translation>sin línea base aún</translation>
    </message>
    <message>
        <source>no controllable device</source>
        <translation>ningún equipo controlable</translation>
    </message>
    <message>
        <source>no data</source>
        <translation>sin datos</translation>
    </message>
    <message>
        <source>no device (each has its own value)</source>
        <translation>ningún equipo (cada uno tiene su propio valor)</translation>
    </message>
    <message>
        <source>normal; alarm at {0}</source>
        <translation>normal; alarma en {0}</translation>
    </message>
    <message>
        <source>off: no Pub/Sub topic configured</source>
        <translation>apagado: sin tópico de Pub/Sub</translation>
    </message>
    <message>
        <source>oldest</source>
        <translation>más antiguo</translation>
    </message>
    <message>
        <source>one of the group is active</source>
        <translation>uno del grupo está activo</translation>
    </message>
    <message>
        <source>only an engineer may hand authority over</source>
        <translation>solo un ingeniero puede ceder la autoridad</translation>
    </message>
    <message>
        <source>operator</source>
        <translation>operador</translation>
    </message>
    <message>
        <source>pack current {current_a:.1f} A &gt; {limit_a:.0f} A</source>
        <translation>corriente del paquete {current_a:.1f} A &gt; {limit_a:.0f} A</translation>
    </message>
    <message>
        <source>pack {voltage_v:.1f} V outside {min_v:.0f}..{max_v:.0f} V</source>
        <translation>tensión del paquete {voltage_v:.1f} V fuera de {min_v:.0f}..{max_v:.0f} V</translation>
    </message>
    <message>
        <source>partly done</source>
        <translation>hecho en parte</translation>
    </message>
    <message>
        <source>polls</source>
        <translation>lecturas</translation>
    </message>
    <message>
        <source>power</source>
        <translation>potencia</translation>
    </message>
    <message>
        <source>power kW</source>
        <translation>potencia kW</translation>
    </message>
    <message>
        <source>profile's</source>
        <translation>la del perfil</translation>
    </message>
    <message>
        <source>proposal</source>
        <translation>propuesta</translation>
    </message>
    <message>
        <source>pull the cable (or drop the simulated link) now</source>
        <translation>desconecte el cable (o corte el enlace simulado) ahora</translation>
    </message>
    <message>
        <source>raised</source>
        <translation>activada</translation>
    </message>
    <message>
        <source>reading</source>
        <translation>lectura</translation>
    </message>
    <message>
        <source>reconnects</source>
        <translation>reconexiones</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>rechazado</translation>
    </message>
    <message>
        <source>remote control is off (2101)</source>
        <translation>el control remoto está apagado (2101)</translation>
    </message>
    <message>
        <source>requests per poll</source>
        <translation>peticiones por lectura</translation>
    </message>
    <message>
        <source>restored after a restart</source>
        <translation>restaurada tras un reinicio</translation>
    </message>
    <message>
        <source>restored after a restart, not yet confirmed</source>
        <translation>restaurada tras un reinicio, aún sin confirmar</translation>
    </message>
    <message>
        <source>rules</source>
        <translation>reglas</translation>
    </message>
    <message>
        <source>running</source>
        <translation>en curso</translation>
    </message>
    <message>
        <source>score {0}</source>
        <translation>puntaje {0}</translation>
    </message>
    <message>
        <source>setpoint</source>
        <translation>consigna</translation>
    </message>
    <message>
        <source>setpoint kW</source>
        <translation>consigna kW</translation>
    </message>
    <message>
        <source>shelved</source>
        <translation>suprimida</translation>
    </message>
    <message>
        <source>shelved by {0} until {1}</source>
        <translation>suspendida por {0} hasta {1}</translation>
    </message>
    <message>
        <source>simulated</source>
        <translation>simulado</translation>
    </message>
    <message>
        <source>since {0} by {1} · {2}</source>
        <translation>desde {0} por {1} · {2}</translation>
    </message>
    <message>
        <source>since {0} · {1}</source>
        <translation>desde {0} · {1}</translation>
    </message>
    <message>
        <source>site</source>
        <translation>sitio</translation>
    </message>
    <message>
        <source>site file</source>
        <translation>archivo del sitio</translation>
    </message>
    <message>
        <source>soc</source>
        <translation>SoC</translation>
    </message>
    <message>
        <source>space</source>
        <translation>espacio</translation>
    </message>
    <message>
        <source>standby (not started)</source>
        <translation>en espera (sin iniciar)</translation>
    </message>
    <message>
        <source>temp</source>
        <translation>temperatura</translation>
    </message>
    <message>
        <source>the grid operator's link is not running</source>
        <translation>el enlace con el operador de red no está en marcha</translation>
    </message>
    <message>
        <source>the normal traffic</source>
        <translation>el tráfico normal</translation>
    </message>
    <message>
        <source>timeouts</source>
        <translation>sin respuesta</translation>
    </message>
    <message>
        <source>trip</source>
        <translation>disparo</translation>
    </message>
    <message>
        <source>two masters started: one redundancy group serves one</source>
        <translation>dos maestros iniciados: un grupo de redundancia atiende a uno</translation>
    </message>
    <message>
        <source>type a number</source>
        <translation>escriba un número</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>desconocido</translation>
    </message>
    <message>
        <source>unshelved</source>
        <translation>restituida</translation>
    </message>
    <message>
        <source>unverified</source>
        <translation>sin verificar</translation>
    </message>
    <message>
        <source>up</source>
        <translation>en línea</translation>
    </message>
    <message>
        <source>viewer</source>
        <translation>observador</translation>
    </message>
    <message>
        <source>warning</source>
        <translation>advertencia</translation>
    </message>
    <message>
        <source>written by the gateway</source>
        <translation>escrita por el gateway</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>sí</translation>
    </message>
    <message>
        <source>zero power</source>
        <translation>potencia cero</translation>
    </message>
    <message>
        <source>{0:.0f} min ago</source>
        <translation>hace {0:.0f} min</translation>
    </message>
    <message>
        <source>{0:.0f} s ago</source>
        <translation>hace {0:.0f} s</translation>
    </message>
    <message>
        <source>{0} (+{1} more)</source>
        <translation>{0} (+{1} más)</translation>
    </message>
    <message>
        <source>{0} ACTIVE</source>
        <translation>{0} ACTIVO(S)</translation>
    </message>
    <message>
        <source>{0} can no longer log in</source>
        <translation>{0} ya no podrá iniciar sesión</translation>
    </message>
    <message>
        <source>{0} interlock(s)</source>
        <translation>{0} enclavamiento(s)</translation>
    </message>
    <message>
        <source>{0} kWh available</source>
        <translation>{0} kWh disponibles</translation>
    </message>
    <message>
        <source>{0} left</source>
        <translation>quedan {0}</translation>
    </message>
    <message>
        <source>{0} sites, {1} stale</source>
        <translation>{0} sitios, {1} sin datos recientes</translation>
    </message>
    <message>
        <source>{0} to the ceiling</source>
        <translation>{0} al máximo</translation>
    </message>
    <message>
        <source>{0} to the floor</source>
        <translation>{0} al mínimo</translation>
    </message>
    <message>
        <source>{0}: "{1}" is not a number</source>
        <translation>{0}: «{1}» no es un número</translation>
    </message>
    <message>
        <source>{0}: keeps at most {1} decimals</source>
        <translation>{0}: admite a lo sumo {1} decimales</translation>
    </message>
    <message>
        <source>{0}: power registers not verified ({1})</source>
        <translation>{0}: registros de potencia sin verificar ({1})</translation>
    </message>
    <message>
        <source>{0}: to Standby at zero power, then no longer polled</source>
        <translation>{0}: a Reposo con potencia cero y luego sin lectura</translation>
    </message>
    <message>
        <source>{0}: type a number</source>
        <translation>{0}: escriba un número</translation>
    </message>
    <message>
        <source>{0}: {1}{2} is outside {3} to {4}{2}</source>
        <translation>{0}: {1}{2} está fuera de {3} a {4}{2}</translation>
    </message>
</context>
</TS>
